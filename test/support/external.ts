/**
 * Contract suites for server-backed adapters run when their server is reachable: from an
 * environment URL, or from a container when a Docker engine answers. Otherwise the suite is
 * skipped loudly (a warning in the output and a skipped test that names the reason), never
 * passed silently. With REQUIRE_EXTERNAL=true (a CI that has Docker or the servers) that skip is
 * a failing test instead, so a broken set-up cannot pass as a green run.
 */
import { execFileSync } from 'node:child_process';

export interface ExternalServer {
  readonly url: string;
  stop(): Promise<void>;
}

export interface ExternalTarget {
  /** What the suite is about, e.g. 'KurrentDB event store'. */
  readonly name: string;
  /** Environment variable holding a server URL, e.g. 'EVENTSTORE_URL'. */
  readonly envVar: string;
  /** Starts a throw-away server with testcontainers; only called when Docker answers. */
  readonly startContainer: () => Promise<ExternalServer>;
}

export function dockerAvailable(): boolean {
  try {
    execFileSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'pipe', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

export type ExternalPlan =
  | { readonly kind: 'env'; readonly url: string }
  | { readonly kind: 'container' }
  | { readonly kind: 'skip' | 'fail'; readonly reason: string };

/** What a suite does, given the environment and whether Docker answers (asked only when needed). */
export function planExternal(target: Pick<ExternalTarget, 'name' | 'envVar'>, env: NodeJS.ProcessEnv, docker: () => boolean): ExternalPlan {
  const required = env.REQUIRE_EXTERNAL ?? 'false';
  if (required !== 'true' && required !== 'false') throw new Error(`REQUIRE_EXTERNAL must be true or false, not ${JSON.stringify(required)}`);
  const url = env[target.envVar];
  if (url) return { kind: 'env', url };
  if (docker()) return { kind: 'container' };
  const why = `${target.envVar} is not set and no Docker engine answers`;
  return required === 'true'
    ? { kind: 'fail', reason: `${target.name} contract suite cannot run (REQUIRE_EXTERNAL=true): ${why}` }
    : { kind: 'skip', reason: `${target.name} contract suite SKIPPED: ${why}` };
}

/**
 * Declares `body` as a describe block that receives the server URL through `server()`.
 * Returns nothing; jest reports the skip.
 */
export function describeExternal(target: ExternalTarget, body: (server: () => ExternalServer) => void): void {
  const plan = planExternal(target, process.env, dockerAvailable);
  if (plan.kind === 'skip' || plan.kind === 'fail') return describeCannotRun(target.name, plan);
  describe(target.name, () => {
    let server: ExternalServer | undefined;
    beforeAll(async () => {
      server = plan.kind === 'env' ? { url: plan.url, stop: async () => undefined } : await target.startContainer();
    }, 180_000);
    afterAll(async () => server?.stop());
    body(() => {
      if (!server) throw new Error(`${target.name} did not start`);
      return server;
    });
  });
}

/**
 * A suite whose prerequisites every CI machine of ours has (the local PostgreSQL, root, the
 * PostgreSQL server programs, redis-server), missing `why`: it fails under CI=true as under
 * REQUIRE_EXTERNAL=true, so that a broken CI cannot pass green, and is skipped loudly elsewhere.
 */
export function planMissing(name: string, why: string, env: NodeJS.ProcessEnv): { readonly kind: 'skip' | 'fail'; readonly reason: string } {
  const requiredBy = env.REQUIRE_EXTERNAL === 'true' ? 'REQUIRE_EXTERNAL=true' : env.CI === 'true' ? 'CI=true' : undefined;
  return requiredBy ? { kind: 'fail', reason: `${name} cannot run (${requiredBy}): ${why}` } : { kind: 'skip', reason: `${name} SKIPPED: ${why}` };
}

/** A suite that cannot run here: a loud warning and a skipped test naming the reason, or a failing one where it is required. */
export function describeCannotRun(name: string, plan: { readonly kind: 'skip' | 'fail'; readonly reason: string }): void {
  // eslint-disable-next-line no-console
  console.warn(`\n*** ${plan.reason} ***\n`);
  describe(`${name} (${plan.kind === 'skip' ? 'skipped' : 'required'})`, () => {
    if (plan.kind === 'skip') it.skip(plan.reason, () => undefined);
    else
      it(plan.reason, () => {
        throw new Error(plan.reason);
      });
  });
}
