import { readdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { mockSettings } from '../../src/data-platform/mock-server';
import { ConfigError, instanceIdOf, loadConfig, SETTING_NAMES } from '../../src/shared/config';

const sourceFiles = (root: string, dirs: readonly string[]): string[] =>
  dirs.flatMap((dir) =>
    readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
      .map((file) => join(root, dir, file)),
  );

const SHARED = { JWT_SECRET: 'x'.repeat(32), PAYER_KEY: Buffer.alloc(32).toString('base64') };

describe('configuration', () => {
  it('documents every setting it reads in docs/CONFIGURATION.md', () => {
    const table = readFileSync(join(__dirname, '../../docs/CONFIGURATION.md'), 'utf8');
    expect(SETTING_NAMES.length).toBeGreaterThan(40);
    expect(SETTING_NAMES.filter((name) => !table.includes(`\`${name}\``))).toEqual([]);
  });

  it('documents the variables read outside config.ts too: the stand-alone mock and the demo', () => {
    const table = readFileSync(join(__dirname, '../../docs/CONFIGURATION.md'), 'utf8');
    const readDirectly = sourceFiles(join(__dirname, '../..'), ['src', 'projections'])
      .filter((file) => !file.endsWith(join('shared', 'config.ts')))
      .flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/process\.env\.([A-Z_][A-Z0-9_]*)/g)].map((match) => match[1]));
    expect(readDirectly).toEqual(expect.arrayContaining(['EVENTMART_URL']));
    const names = [...new Set([...readDirectly, ...Object.keys(mockSettings.shape)])];
    expect(names.filter((name) => !table.includes(`\`${name}\``))).toEqual([]);
  });

  it('runs embedded with nothing set', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ embedded: true, PORT: 3000, DATA_DIR: './data', devTokens: true, RUN_PROJECTIONS: true });
    expect(config.REDIS_URL).toBeUndefined();
  });

  it('names an instance by INSTANCE_ID, or by what its restart on this host has again', () => {
    expect(instanceIdOf(loadConfig({ INSTANCE_ID: 'api-0' }), 'api')).toBe('api-0');
    expect(instanceIdOf(loadConfig({ PORT: '3001' }), 'api')).toBe(`${hostname()}:api:3001`);
    expect(instanceIdOf(loadConfig({ PORT: '3001', DATA_DIR: 'here' }), 'projector')).toBe(`${hostname()}:projector:${resolve('here')}`);
    // An ephemeral port comes back as another one: no restart can be told by it, and neighbours must not share a name.
    const [first, second] = [instanceIdOf(loadConfig({ PORT: '0' }), 'api'), instanceIdOf(loadConfig({ PORT: '0' }), 'api')];
    expect(first).not.toBe(second);
    expect(first).toMatch(new RegExp(`^${hostname()}:api:`));
    expect(first).not.toBe(`${hostname()}:api:0`);
    // `|` separates the identity from the process in a lease's owner.
    expect(() => loadConfig({ INSTANCE_ID: 'a|b' })).toThrow(/INSTANCE_ID/);
  });

  it('treats blank variables as unset', () => {
    expect(loadConfig({ REDIS_URL: '', PORT: '' }).PORT).toBe(3000);
  });

  it('switches dev tokens off by default once the event store is a server', () => {
    expect(
      loadConfig({ EVENTSTORE_URL: 'kurrentdb://localhost:2113?tls=false', JWT_SECRET: 'x'.repeat(32), PAYER_KEY: Buffer.alloc(32).toString('base64') }).devTokens,
    ).toBe(false);
  });

  it('shares its stores, like EVENTSTORE_URL, once DATABASE_URL is set (postgres:// or postgresql://)', () => {
    for (const DATABASE_URL of ['postgres://localhost/db', 'postgresql://u@db:5432/eventmart']) {
      const config = loadConfig({ ...SHARED, DATABASE_URL, REDIS_URL: 'redis://localhost' });
      expect(config).toMatchObject({ embedded: false, devTokens: false, HOST: '0.0.0.0', DATABASE_SCHEMA: 'eventmart', DATABASE_POOL_SIZE: 10 });
    }
  });

  it('listens on loopback only when embedded, on every interface against servers, or where HOST says', () => {
    expect(loadConfig({}).HOST).toBe('127.0.0.1');
    expect(loadConfig({ HOST: '0.0.0.0' }).HOST).toBe('0.0.0.0');
    expect(loadConfig({ EVENTSTORE_URL: 'kurrentdb://localhost:2113', JWT_SECRET: 'x'.repeat(32), PAYER_KEY: Buffer.alloc(32).toString('base64') }).HOST).toBe('0.0.0.0');
  });

  it('trusts loopback proxies by default, or the list TRUST_PROXY gives', () => {
    expect(loadConfig({}).TRUST_PROXY).toEqual(['loopback']);
    expect(loadConfig({ TRUST_PROXY: 'loopback, 172.29.80.0/24,10.0.0.7' }).TRUST_PROXY).toEqual(['loopback', '172.29.80.0/24', '10.0.0.7']);
  });

  it.each([
    [{ TRUST_PROXY: 'nginx' }, 'TRUST_PROXY'],
    [{ TRUST_PROXY: '10.0.0.0/99' }, 'TRUST_PROXY'],
    [{ TRUST_PROXY: ' , ' }, 'TRUST_PROXY'],
    [{ JWT_MAX_TOKEN_AGE_HOURS: '0' }, 'JWT_MAX_TOKEN_AGE_HOURS'],
    [{ AUTH_DEV_TOKENS_REMOTE: 'sure' }, 'AUTH_DEV_TOKENS_REMOTE'],
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ REDIS_URL: 'localhost:6379' }, 'REDIS_URL'],
    [{ EVENTSTORE_URL: 'http://localhost:2113' }, 'EVENTSTORE_URL'],
    [{ JWT_SECRET: 'short' }, 'JWT_SECRET'],
    [{ AUTH_DEV_TOKENS: 'ture' }, 'AUTH_DEV_TOKENS'],
    [{ NODE_ENV: 'production' }, 'JWT_SECRET'],
    [{ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32), PAYER_KEY: Buffer.alloc(32).toString('base64'), AUTH_DEV_TOKENS: 'true' }, 'AUTH_DEV_TOKENS'],
    [{ IDEMPOTENCY_TTL_HOURS: '1' }, 'IDEMPOTENCY_TTL_HOURS'],
    [{ EVENTSTORE_URL: 'kurrentdb://localhost:2113' }, 'JWT_SECRET'],
    [{ EVENTSTORE_URL: 'kurrentdb://localhost:2113', JWT_SECRET: 'x'.repeat(32) }, 'PAYER_KEY'],
    [{ PAYER_KEY: 'c2hvcnQ=' }, 'PAYER_KEY'],
    [{ ...SHARED, DATABASE_URL: 'mysql://localhost/db', REDIS_URL: 'redis://localhost' }, 'DATABASE_URL'],
    [{ ...SHARED, DATABASE_URL: 'postgres://localhost/db' }, 'REDIS_URL'],
    [{ DATABASE_URL: 'postgres://localhost/db', REDIS_URL: 'redis://localhost' }, 'JWT_SECRET'],
    [{ DATABASE_URL: 'postgres://localhost/db', REDIS_URL: 'redis://localhost', JWT_SECRET: 'x'.repeat(32) }, 'PAYER_KEY'],
    [{ DATABASE_SCHEMA: 'Event-Mart' }, 'DATABASE_SCHEMA'],
    [{ DATABASE_POOL_SIZE: '0' }, 'DATABASE_POOL_SIZE'],
  ])('stops on %p naming %s', (environment, variable) => {
    let thrown: unknown;
    try {
      loadConfig(environment as NodeJS.ProcessEnv);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).message).toContain(variable);
  });
});
