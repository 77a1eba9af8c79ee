import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { until as poll } from '../../support/eventually';
import { Redis } from 'ioredis';

const ROOT = join(__dirname, '..', '..', '..');
/** Every process this test file started and has not seen exit: killed when the file ends, however it ends. */
const live = new Set<ChildProcess>();
process.on('exit', () => live.forEach((child) => child.kill('SIGKILL')));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Polls until `check` holds, failing with `what` after `timeoutMs`. */
export const until = (check: () => Promise<boolean> | boolean, what: string, timeoutMs = 30_000, everyMs = 50): Promise<void> =>
  // A process that is not up yet refuses the connection: that only means not yet.
  poll(() => Promise.resolve().then(check).catch(() => false), what, timeoutMs, everyMs);

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/**
 * Where a process runs and how it is reached: this machine's loopback, or a network namespace
 * of its own (a separate host on a bridge, see hosts.ts).
 */
export interface Place {
  readonly name: string;
  /** The address its servers listen on and are reached at. */
  readonly address: string;
  /** The command line that runs `command args` there. */
  wrap(command: string, args: readonly string[]): [string, string[]];
  /** A port for a server there: any free one on loopback; on a host of its own, the server's usual one. */
  port(usual: number): Promise<number>;
}

export const loopback: Place = { name: 'loopback', address: '127.0.0.1', wrap: (command, args) => [command, [...args]], port: freePort };

/** One OS process under test, restartable with the same command and environment. */
export class Proc {
  private child: ChildProcess | null = null;
  private exit: Promise<Exit> = Promise.resolve({ code: null, signal: null });
  /** Everything it wrote, for lease logs and for the failure message of a test. */
  output = '';

  constructor(
    readonly name: string,
    private readonly command: string,
    private readonly args: readonly string[],
    readonly env: Readonly<Record<string, string>>,
    readonly port?: number,
    readonly address = '127.0.0.1',
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== null;
  }

  start(): this {
    if (this.child) throw new Error(`${this.name} is already running`);
    const child = spawn(this.command, this.args, { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...this.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    const keep = (chunk: Buffer) => {
      this.output += chunk.toString();
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.child = child;
    this.exit = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        live.delete(child);
        if (this.child === child) this.child = null;
        resolve({ code, signal });
      }),
    );
    return this;
  }

  /** Sends the signal and waits for the process to be gone. */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<Exit> {
    const exited = this.exit;
    this.child?.kill(signal);
    return exited;
  }

  /** Resolves when the process exits by itself. */
  exited(): Promise<Exit> {
    return this.exit;
  }
}

/** A program of the built app (`dist/`), as `node dist/<script> ...args`. */
export const node = (name: string, script: string, env: Record<string, string>, options: { port?: number; args?: string[]; place?: Place } = {}) => {
  const place = options.place ?? loopback;
  const [command, args] = place.wrap(process.execPath, [join(ROOT, 'dist', script), ...(options.args ?? [])]);
  return new Proc(name, command, args, env, options.port, place.address);
};

export async function apiReady(port: number, address = '127.0.0.1'): Promise<boolean> {
  const res = await fetch(`http://${address}:${port}/ready`, { signal: AbortSignal.timeout(1_000) });
  return res.status === 200;
}

/** A throw-away redis-server on a port of its own, to stop and start without disturbing anyone else's Redis. */
export async function throwAwayRedis(place: Place = loopback): Promise<{ url: string; server: Proc; restart(): Promise<void> }> {
  const port = await place.port(6379);
  const [command, args] = place.wrap('redis-server', ['--port', String(port), '--bind', place.address, '--protected-mode', 'no', '--save', '', '--appendonly', 'no']);
  const server = new Proc('redis', command, args, {}, port, place.address);
  const url = `redis://${place.address}:${port}`;
  const answers = async () => {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      return (await probe.ping()) === 'PONG';
    } finally {
      probe.disconnect();
    }
  };
  const restart = async () => {
    server.start();
    await until(answers, `redis-server to answer (${server.output})`, 10_000);
  };
  await restart();
  return { url, server, restart };
}
