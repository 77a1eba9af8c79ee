import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KURRENTDB_IMAGE, MONGO_IMAGE } from '../support/images';

const compose = readFileSync(join(__dirname, '../../docker-compose.yml'), 'utf8');
/** Each service's block of the compose file, by name (two-space indented keys under `services:`). */
const services = new Map(
  [...compose.split(/^services:$/m)[1].split(/^volumes:$/m)[0].matchAll(/^  ([a-z0-9-]+):\n((?:(?: {4}.*)?\n)*)/gm)].map((m) => [m[1], m[2]]),
);

describe('docker-compose.yml', () => {
  it('runs the server versions the contract suites test', () => {
    expect(services.get('kurrentdb')).toContain(`image: ${KURRENTDB_IMAGE}\n`);
    expect(services.get('mongo')).toContain(`image: ${MONGO_IMAGE}\n`);
    expect(KURRENTDB_IMAGE).toMatch(/:\d+\.\d+\.\d+$/);
  });

  it('publishes no database port unless the db-ports profile asks, and then on loopback only', () => {
    for (const name of ['kurrentdb', 'mongo', 'redis']) expect(services.get(name)).not.toMatch(/^ {4}ports:/m);
    const ports = services.get('db-ports')!;
    expect(ports).toContain('profiles: [db-ports]');
    const published = ports.split(/^ {4}ports:\n/m)[1].split(/^ {4}\S/m)[0].split('\n').filter(Boolean);
    expect(published).toHaveLength(3);
    for (const line of published) expect(line).toMatch(/^ {6}- "127\.0\.0\.1:\d+:\d+"$/);
  });
});
