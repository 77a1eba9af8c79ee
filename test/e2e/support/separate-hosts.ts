import { execFileSync } from 'node:child_process';
import { describeCannotRun } from '../../support/external';
import { Host, hostsUnavailable, Lan, LOCK_WAIT_MS } from './hosts';
import { postgresUnavailable, ThrowAwayPostgres } from './postgres';
import { Proc, throwAwayRedis } from './processes';

/**
 * The machines of a cluster, made on this one: a database host running a throw-away PostgreSQL
 * and a throw-away Redis, three API hosts and a projector host, all on one bridge.
 */
export interface SeparateHosts {
  readonly lan: Lan;
  readonly db: Host;
  readonly apis: readonly Host[];
  readonly projector: Host;
  readonly postgres: ThrowAwayPostgres;
  readonly redis: { readonly url: string; readonly server: Proc; restart(): Promise<void> };
}

function redisUnavailable(): string | undefined {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'no redis-server binary';
  }
}

/**
 * Declares `body` with the hosts made before its tests and removed after them (and after a
 * failed run: see Lan). Where they cannot be made (not root, no `ip netns`, no PostgreSQL
 * binaries) the suite is skipped loudly, or fails with REQUIRE_EXTERNAL=true.
 */
export function describeOnSeparateHosts(name: string, body: (hosts: () => SeparateHosts) => void): void {
  const why = hostsUnavailable() ?? postgresUnavailable() ?? redisUnavailable();
  if (why) {
    const required = process.env.REQUIRE_EXTERNAL === 'true';
    describeCannotRun(name, { kind: required ? 'fail' : 'skip', reason: `${name}: suite ${required ? 'cannot run (REQUIRE_EXTERNAL=true)' : 'SKIPPED'}: ${why}` });
    return;
  }
  describe(name, () => {
    let hosts: SeparateHosts | undefined;
    let lan: Lan | undefined;
    let postgres: ThrowAwayPostgres | undefined;
    beforeAll(async () => {
      lan = await Lan.create();
      const db = await lan.host('db', 2);
      const apis = [await lan.host('api1', 11), await lan.host('api2', 12), await lan.host('api3', 13)];
      const projector = await lan.host('proj', 21);
      postgres = await ThrowAwayPostgres.create(db);
      const redis = await throwAwayRedis(db);
      hosts = { lan, db, apis, projector, postgres, redis };
    }, LOCK_WAIT_MS + 60_000);
    afterAll(async () => {
      await hosts?.redis.server.stop('SIGKILL');
      await postgres?.destroy();
      lan?.remove();
    });
    body(() => {
      if (!hosts) throw new Error(`the hosts of ${name} were not made`);
      return hosts;
    });
  });
}
