import { execFileSync } from 'node:child_process';
import { describeCannotRun, planMissing } from '../../support/external';
import { Host, hostsUnavailable, Lan, leftovers, LOCK_WAIT_MS } from './hosts';
import { postgresUnavailable, ThrowAwayPostgres } from './postgres';
import { loopback, Place, Proc, throwAwayRedis } from './processes';

/**
 * The machines of a cluster, made on this one: a database host running a throw-away PostgreSQL
 * and a throw-away Redis, three API hosts and a projector host, all on one bridge. Where
 * namespaces cannot be made, every place is this machine's loopback and `hosts` is null.
 */
export interface SeparateHosts {
  readonly hosts: { readonly lan: Lan; readonly apis: readonly Host[] } | null;
  readonly apis: readonly Place[];
  readonly projector: Place;
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

/** On hosts of their own, or on loopback (said loudly) where namespaces cannot be made. */
export type Network = { readonly kind: 'hosts' } | { readonly kind: 'loopback'; readonly why: string };

async function make(network: Network): Promise<SeparateHosts> {
  if (network.kind === 'loopback') {
    const postgres = await ThrowAwayPostgres.create(loopback);
    return { hosts: null, apis: [loopback, loopback, loopback], projector: loopback, postgres, redis: await throwAwayRedis(loopback) };
  }
  const lan = await Lan.create();
  try {
    const db = await lan.host('db', 2);
    const apis = [await lan.host('api1', 11), await lan.host('api2', 12), await lan.host('api3', 13)];
    const projector = await lan.host('proj', 21);
    const postgres = await ThrowAwayPostgres.create(db);
    return { hosts: { lan, apis }, apis, projector, postgres, redis: await throwAwayRedis(db) };
  } catch (error) {
    // Removing the hosts kills whatever started on them (the servers too).
    lan.remove();
    throw error;
  }
}

/**
 * Declares `body` with the machines made before its tests and removed after them (and after a
 * failed run: see Lan). Without `ip netns` the suite runs on loopback when `loopbackToo` says
 * it means something there, else it is skipped loudly; without root, the PostgreSQL server
 * programs or redis-server it is skipped loudly, and fails under CI=true or REQUIRE_EXTERNAL=true
 * (CI runs as root with them all: a CI that lost one must not pass green).
 */
export function describeOnSeparateHosts(name: string, options: { loopbackToo: boolean }, body: (machines: () => SeparateHosts, network: Network) => void): void {
  const noHosts = hostsUnavailable();
  const why = (noHosts && (!options.loopbackToo || process.getuid?.() !== 0) ? noHosts : undefined) ?? postgresUnavailable() ?? redisUnavailable();
  if (why) {
    describeCannotRun(name, planMissing(name, why, process.env));
    return;
  }
  const network: Network = noHosts ? { kind: 'loopback', why: noHosts } : { kind: 'hosts' };
  // eslint-disable-next-line no-console
  if (network.kind === 'loopback') console.warn(`\n*** ${name}: NOT on separate hosts (${noHosts}): every instance runs on this machine's loopback ***\n`);
  describe(network.kind === 'hosts' ? name : `${name} (on loopback: ${noHosts})`, () => {
    let machines: SeparateHosts | undefined;
    beforeAll(async () => {
      machines = await make(network);
    }, LOCK_WAIT_MS + 60_000);
    afterAll(async () => {
      await machines?.redis.server.stop('SIGKILL');
      await machines?.postgres.destroy();
      if (!machines?.hosts) return;
      machines.hosts.lan.remove();
      // Checked here, after every suite on the hosts: a run must leave the machine as it found it.
      expect(leftovers()).toEqual({ namespaces: [], links: [] });
    });
    body(() => {
      if (!machines) throw new Error(`the machines of ${name} were not made`);
      return machines;
    }, network);
  });
}
