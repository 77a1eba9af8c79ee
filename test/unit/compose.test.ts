import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KURRENTDB_IMAGE, MONGO_IMAGE } from '../support/images';

/** Each service's block of a compose file, by name (two-space indented keys under `services:`). */
function servicesOf(file: string): Map<string, string> {
  const compose = readFileSync(join(__dirname, '../..', file), 'utf8');
  return new Map(
    [...compose.split(/^services:$/m)[1].split(/^volumes:$/m)[0].matchAll(/^  ([a-z0-9-]+):\n((?:(?: {4}.*)?\n)*)/gm)].map((m) => [m[1], m[2]]),
  );
}
const services = servicesOf('docker-compose.yml');

/** The db-ports service's published ports, each checked to be on loopback. */
function expectLoopbackOnly(ports: string, count: number): void {
  expect(ports).toContain('profiles: [db-ports]');
  const published = ports.split(/^ {4}ports:\n/m)[1].split(/^ {4}\S/m)[0].split('\n').filter(Boolean);
  expect(published).toHaveLength(count);
  for (const line of published) expect(line).toMatch(/^ {6}- "127\.0\.0\.1:\d+:\d+"$/);
}

describe('docker-compose.yml', () => {
  it('runs the server versions the contract suites test', () => {
    expect(services.get('kurrentdb')).toContain(`image: ${KURRENTDB_IMAGE}\n`);
    expect(services.get('mongo')).toContain(`image: ${MONGO_IMAGE}\n`);
    expect(KURRENTDB_IMAGE).toMatch(/:\d+\.\d+\.\d+$/);
  });

  it('publishes no database port unless the db-ports profile asks, and then on loopback only', () => {
    for (const name of ['kurrentdb', 'mongo', 'redis']) expect(services.get(name)).not.toMatch(/^ {4}ports:/m);
    expectLoopbackOnly(services.get('db-ports')!, 3);
  });
});

describe('docker-compose.postgres.yml', () => {
  const onPostgres = servicesOf('docker-compose.postgres.yml');

  it('runs PostgreSQL, Redis, two API instances without projections, a projector and nginx', () => {
    expect([...onPostgres.keys()]).toEqual(expect.arrayContaining(['postgres', 'redis', 'api-1', 'api-2', 'projector', 'nginx']));
    for (const name of ['api-1', 'api-2', 'projector']) expect(onPostgres.get(name)).toContain('<<: *');
    expect(readFileSync(join(__dirname, '../../docker-compose.postgres.yml'), 'utf8')).toMatch(/^x-api: &api\n(?: .*\n)*? {4}RUN_PROJECTIONS: "false"$/m);
    for (const name of ['postgres', 'redis']) expect(onPostgres.get(name)).not.toMatch(/^ {4}ports:/m);
    expectLoopbackOnly(onPostgres.get('db-ports')!, 2);
  });
});
