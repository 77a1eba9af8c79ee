import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Role, TokenService } from '../../../src/shared/auth/tokens';
import { SqliteEventStore } from '../../../src/shared/eventstore/sqlite';
import { deleteKeys } from '../../support/redis';
import { LogFacts, readLog } from './log';
import { apiReady, loopback, node, Place, Proc, until } from './processes';

export const JWT_SECRET = 'e2e-secret-that-is-long-enough-for-hs256!!';

/** What became of one HTTP request. */
export type Outcome =
  | { readonly kind: 'answered'; readonly status: number; readonly body: any }
  /** Nothing reached a server (no process listened): certainly not written. */
  | { readonly kind: 'refused' }
  /** The connection broke or timed out after the request was sent: it may or may not have landed. */
  | { readonly kind: 'lost'; readonly error: string };

export interface Call {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly token?: string;
  readonly body?: unknown;
  readonly idempotencyKey?: string;
  readonly headers?: Record<string, string>;
}

export const ok = (o: Outcome) => o.kind === 'answered' && o.status >= 200 && o.status < 300;
export const refusedWith = (o: Outcome, ...codes: string[]) => o.kind === 'answered' && o.status >= 400 && o.status < 500 && codes.includes(o.body?.code);
/** No definite answer: a 5xx, a broken connection; such a request may or may not be in the log. */
export const undecided = (o: Outcome) => o.kind === 'lost' || (o.kind === 'answered' && o.status >= 500);

const REQUEST_TIMEOUT_MS = 30_000;

/** One request on a keep-alive agent; transport failures become outcomes, never exceptions. */
export function send(agent: Agent, port: number, call: Call, host = '127.0.0.1'): Promise<Outcome> {
  const payload = call.body === undefined ? undefined : JSON.stringify(call.body);
  const headers: Record<string, string> = { ...call.headers };
  if (payload !== undefined) headers['content-type'] = 'application/json';
  if (call.token) headers.authorization = `Bearer ${call.token}`;
  if (call.idempotencyKey) headers['idempotency-key'] = call.idempotencyKey;
  return new Promise((resolve) => {
    const req = request({ host, port, method: call.method, path: call.path, headers, agent, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', (error) => resolve({ kind: 'lost', error: error.message }));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let body: unknown = text;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          // Not JSON (a proxy's or Node's own answer): kept as text for the failure message.
        }
        resolve({ kind: 'answered', status: res.statusCode ?? 0, body });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED' ? { kind: 'refused' } : { kind: 'lost', error: error.code ?? error.message }));
    req.end(payload);
  });
}

export interface ClusterOptions {
  readonly apis: number;
  readonly projectors: number;
  readonly redisUrl: string;
  /** Added to every process's environment. */
  readonly env?: Record<string, string>;
  /** Where the n-th API process and the n-th projector run (loopback unless given), e.g. hosts of their own. */
  readonly places?: { readonly api: (n: number) => Place; readonly projector: (n: number) => Place };
  /**
   * Each process gets a DATA_DIR of its own, so that nothing is shared but the servers the
   * environment names; by default they share one (the embedded SQLite store).
   */
  readonly ownDataDirs?: boolean;
  /** Reads the log, the truth the answers are checked against; the shared SQLite file unless given. */
  readonly readLog?: () => Promise<LogFacts>;
}

/**
 * API processes and projector processes (the built app, `node dist/...`) sharing one Redis under
 * a prefix of their own and either one SQLite store under a temporary DATA_DIR or the servers
 * their environment names.
 */
export class Cluster {
  readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });
  readonly apis: Proc[] = [];
  readonly projectors: Proc[] = [];
  private readonly tokens = new TokenService(JWT_SECRET);
  private adminToken?: Promise<string>;
  /**
   * Resend a keyed request that got no definite answer (a 5xx, a broken connection, its first
   * send still running), as docs/API.md tells a client to, until it gets one: a rush then ends with
   * every request decided, while `resent` says how often that took.
   */
  resendUndecided = false;
  resent = 0;
  /** Counted when a process is asked for, not when it is up: processes start concurrently. */
  private readonly started = { api: 0, projector: 0 };

  private constructor(
    readonly env: Readonly<Record<string, string>>,
    readonly dataDir: string,
    private readonly options: ClusterOptions,
  ) {}

  static async start(options: ClusterOptions): Promise<Cluster> {
    const dataDir = mkdtempSync(join(tmpdir(), 'eventmart-e2e-'));
    const env = {
      DATA_DIR: dataDir,
      REDIS_URL: options.redisUrl,
      REDIS_PREFIX: `eventmart-e2e:${randomUUID()}:`,
      JWT_SECRET,
      PAYER_KEY: randomBytes(32).toString('base64'),
      LOG_LEVEL: 'warn',
      RUN_PROJECTIONS: 'false',
      SQLITE_SYNCHRONOUS: 'NORMAL',
      PROJECTION_POLL_MS: '50',
      PROJECTION_LEASE_MS: '2000',
      DELIVERY_WORKERS: '0',
      // The rushes come from one address and a few users by design.
      RATE_LIMIT_WRITE_PER_USER: '0',
      RATE_LIMIT_WRITE_PER_IP: '0',
      RATE_LIMIT_ISSUE_PER_USER: '0',
      RATE_LIMIT_ISSUE_PER_IP: '0',
      ...options.env,
    };
    const cluster = new Cluster(env, dataDir, options);
    // The first process creates the SQLite files (or the schema); the others open them.
    await cluster.addApi();
    await Promise.all([
      ...Array.from({ length: options.apis - 1 }, () => cluster.addApi()),
      ...Array.from({ length: options.projectors }, () => cluster.addProjector()),
    ]);
    return cluster;
  }

  async addApi(env: Record<string, string> = {}): Promise<Proc> {
    const n = ++this.started.api;
    const place = this.options.places?.api(n) ?? loopback;
    const port = await place.port(8080);
    // Hosts of their own still share the host name and may share the port, hence a default identity: name each process.
    const api = node(`api-${n}`, 'src/main.js', { ...this.env, ...this.ownDataDir(`api-${n}`), HOST: place.address, PORT: String(port), INSTANCE_ID: `api-${n}`, ...env }, { port, place });
    this.apis.push(api);
    await this.launch(api);
    return api;
  }

  async addProjector(env: Record<string, string> = {}): Promise<Proc> {
    const n = ++this.started.projector;
    const place = this.options.places?.projector(n) ?? loopback;
    const projector = node(`projector-${n}`, 'projections/main.js', { ...this.env, ...this.ownDataDir(`projector-${n}`), DELIVERY_WORKERS: '1', INSTANCE_ID: `projector-${n}`, ...env }, { place });
    this.projectors.push(projector);
    await this.launch(projector);
    return projector;
  }

  /** Starts the process and, for an API, waits until it answers /ready. */
  async launch(proc: Proc): Promise<void> {
    proc.start();
    if (proc.port !== undefined) await until(() => apiReady(proc.port!, proc.address), `${proc.name} to be ready\n${proc.output}`, 30_000);
  }

  private ownDataDir(name: string): Record<string, string> {
    return this.options.ownDataDirs ? { DATA_DIR: join(this.dataDir, name) } : {};
  }

  /** What the log says landed. */
  async readLog(): Promise<LogFacts> {
    return this.options.readLog?.() ?? readLog(new SqliteEventStore(join(this.dataDir, 'events.db')));
  }

  token(userId: string, role: Role = 'customer'): Promise<string> {
    return this.tokens.issue({ userId, role });
  }

  admin(): Promise<string> {
    this.adminToken ??= this.token('e2e-admin', 'admin');
    return this.adminToken;
  }

  /**
   * Sends to a random API process. A refused connection (that process is down) reached nobody,
   * so it is sent to another one; other failures are the caller's to judge.
   */
  async call(call: Call): Promise<Outcome> {
    for (let attempt = 0; ; attempt++) {
      const candidates = this.apis.filter((api) => api.running);
      const api = candidates[Math.floor(Math.random() * candidates.length)] ?? this.apis[0];
      const outcome = await send(this.agent, api.port!, call, api.address);
      const again = outcome.kind === 'refused' || (this.resendUndecided && call.idempotencyKey !== undefined && (undecided(outcome) || refusedWith(outcome, 'IDEMPOTENCY_KEY_IN_USE')));
      if (!again || attempt >= 50) return outcome;
      if (outcome.kind !== 'refused') this.resent++;
      await new Promise((resolve) => setTimeout(resolve, outcome.kind === 'refused' ? 20 : 250));
    }
  }

  /**
   * A call that must succeed (set-up steps), sent as a careful client sends: a POST with an
   * Idempotency-Key (its own unless given), and an undecided answer sent again with the same key
   * until decided: a keep-alive socket the server closed just as it was reused resets, before
   * any process was killed.
   */
  async must(call: Call): Promise<any> {
    const careful: Call = call.method === 'POST' ? { ...call, idempotencyKey: call.idempotencyKey ?? randomUUID() } : call;
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.call(careful);
      if (ok(outcome)) return (outcome as { body: unknown }).body;
      const again = undecided(outcome) || refusedWith(outcome, 'IDEMPOTENCY_KEY_IN_USE');
      if (!again || attempt >= 20) throw new Error(`${call.method} ${call.path} failed: ${JSON.stringify(outcome)}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** Waits until every projection has applied the whole log. */
  async caughtUp(timeoutMs = 60_000): Promise<void> {
    const token = await this.admin();
    let last: Outcome | undefined;
    await until(
      async () => {
        last = await this.call({ method: 'GET', path: '/admin/projections', token });
        return ok(last) && (last as { body: { items: { caughtUp: boolean }[] } }).body.items.every((p) => p.caughtUp);
      },
      'the projections to catch up',
      timeoutMs,
      100,
    ).catch((error: Error) => {
      // Which projection lags, and the projectors' last words.
      throw new Error(`${error.message}: ${JSON.stringify(last)}\n${this.projectors.map((p) => `${p.name}: ${p.output.slice(-3_000)}`).join('\n')}`);
    });
  }

  /** Runs `npm run verify`'s program against this cluster's stores. */
  async verify(): Promise<{ code: number | null; output: string }> {
    const cli = node('verify', 'src/operations/cli.js', { ...this.env, ...this.ownDataDir('verify') }, { args: ['verify'] }).start();
    const { code } = await cli.exited();
    return { code, output: cli.output };
  }

  async close(): Promise<void> {
    this.agent.destroy();
    await Promise.all([...this.apis, ...this.projectors].map((proc) => proc.stop('SIGKILL')));
    const redis = new Redis(this.env.REDIS_URL, { maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000 });
    redis.on('error', () => undefined);
    await deleteKeys(redis, this.env.REDIS_PREFIX).catch(() => undefined);
    redis.disconnect();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
