/**
 * Contract suites for server-backed adapters run when their server is reachable: from an
 * environment URL, or from a container when a Docker engine answers. Otherwise the suite is
 * skipped loudly (a warning in the output and a skipped test that names the reason), never
 * passed silently.
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

/**
 * Declares `body` as a describe block that receives the server URL through `server()`.
 * Returns nothing; jest reports the skip.
 */
export function describeExternal(target: ExternalTarget, body: (server: () => ExternalServer) => void): void {
  const fromEnv = process.env[target.envVar];
  const docker = !fromEnv && dockerAvailable();
  if (!fromEnv && !docker) {
    const reason = `${target.name} contract suite SKIPPED: ${target.envVar} is not set and no Docker engine answers`;
    // eslint-disable-next-line no-console
    console.warn(`\n*** ${reason} ***\n`);
    describe(`${target.name} (skipped)`, () => {
      it.skip(reason, () => undefined);
    });
    return;
  }
  describe(target.name, () => {
    let server: ExternalServer | undefined;
    beforeAll(async () => {
      server = fromEnv ? { url: fromEnv, stop: async () => undefined } : await target.startContainer();
    }, 180_000);
    afterAll(async () => server?.stop());
    body(() => {
      if (!server) throw new Error(`${target.name} did not start`);
      return server;
    });
  });
}
