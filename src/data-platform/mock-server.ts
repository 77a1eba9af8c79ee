import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { z } from 'zod';

/**
 * up: every order is accepted. down: 503 for every order. slow: the answer comes after
 * `slowMs` (longer than any sensible client timeout). flaky: half the orders get a 500.
 */
export const MOCK_MODES = ['up', 'down', 'slow', 'flaky'] as const;
export type MockMode = (typeof MOCK_MODES)[number];

/** What the stand-alone mock (mock-main.ts) reads from its environment (docs/CONFIGURATION.md). */
export const mockSettings = z.object({
  PORT: z.coerce.number().int().min(0).max(65_535).default(4010),
  HOST: z.string().min(1).default('127.0.0.1'),
  MOCK_MODE: z.enum(MOCK_MODES).default('up'),
});

export interface MockKeyRecord {
  /** Requests that arrived with this Idempotency-Key, whatever the answer. */
  readonly received: number;
  /** 2xx answers actually sent for it: more than one means the key was delivered twice. */
  readonly accepted: number;
  /** The body of the last request for it. */
  readonly payload: unknown;
}

export interface MockState {
  readonly mode: MockMode;
  readonly slowMs: number;
  readonly received: number;
  readonly accepted: number;
  readonly deliveries: Readonly<Record<string, MockKeyRecord>>;
}

export interface MockOptions {
  readonly port?: number;
  readonly host?: string;
  readonly mode?: MockMode;
  readonly slowMs?: number;
}

const modeBody = z.strictObject({ mode: z.enum(MOCK_MODES), slowMs: z.number().int().min(0).max(600_000).optional() });
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * A stand-in for the external data platform, with switchable failures. It takes
 * `POST /orders` with an `Idempotency-Key` header and counts requests and accepted deliveries
 * per key (duplicates are accepted, as a real idempotent endpoint would, but counted), so a
 * test can check that every order arrived and none twice. Its control API:
 *
 *   GET  /_mock          the mode and the counts per key (MockState)
 *   PUT  /_mock/mode     {"mode": "up"|"down"|"slow"|"flaky", "slowMs"?: n}
 *   POST /_mock/reset    forget the counts
 */
export class MockDataPlatform {
  private readonly server: Server;
  private mode: MockMode;
  private slowMs: number;
  private records = new Map<string, MockKeyRecord>();
  private origin = '';

  private constructor(options: MockOptions) {
    this.mode = options.mode ?? 'up';
    this.slowMs = options.slowMs ?? 30_000;
    this.server = createServer((req, res) => {
      this.handle(req, res).catch(() => answer(res, 500, { error: 'mock failed' }));
    });
  }

  /** Listens on `port` (default: a free one) of `host` (default: 127.0.0.1). */
  static async start(options: MockOptions = {}): Promise<MockDataPlatform> {
    const mock = new MockDataPlatform(options);
    await new Promise<void>((resolve, reject) => {
      mock.server.once('error', reject);
      mock.server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
    });
    const { address, port } = mock.server.address() as AddressInfo;
    mock.origin = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
    return mock;
  }

  get url(): string {
    return this.origin;
  }

  setMode(mode: MockMode, slowMs?: number): void {
    this.mode = mode;
    if (slowMs !== undefined) this.slowMs = slowMs;
  }

  state(): MockState {
    const deliveries = Object.fromEntries(this.records);
    const sum = (field: 'received' | 'accepted') => [...this.records.values()].reduce((total, record) => total + record[field], 0);
    return { mode: this.mode, slowMs: this.slowMs, received: sum('received'), accepted: sum('accepted'), deliveries };
  }

  reset(): void {
    this.records = new Map();
  }

  /** Stops at once, cutting requests that are still being held (slow mode). */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://mock').pathname;
    const route = `${req.method} ${path}`;
    if (route === 'POST /orders') return this.order(req, res);
    if (route === 'GET /_mock') return answer(res, 200, this.state());
    if (route === 'POST /_mock/reset') {
      this.reset();
      return answer(res, 200, this.state());
    }
    if (route === 'PUT /_mock/mode') {
      const parsed = modeBody.safeParse(await readJson(req));
      if (!parsed.success) return answer(res, 400, { error: `send {"mode": ${MOCK_MODES.map((m) => `"${m}"`).join('|')}, "slowMs"?: number}` });
      this.setMode(parsed.data.mode, parsed.data.slowMs);
      return answer(res, 200, this.state());
    }
    answer(res, 404, { error: `no route ${route}` });
  }

  private async order(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const key = req.headers['idempotency-key'];
    const payload = await readJson(req);
    if (typeof key !== 'string' || key === '' || payload === undefined) {
      return answer(res, 400, { error: 'send a JSON body and an Idempotency-Key header' });
    }
    const record = this.records.get(key) ?? { received: 0, accepted: 0, payload };
    this.records.set(key, { ...record, received: record.received + 1, payload });
    const accept = () => {
      if (res.destroyed) return;
      const current = this.records.get(key)!;
      this.records.set(key, { ...current, accepted: current.accepted + 1 });
      answer(res, 200, { accepted: true, duplicate: current.accepted > 0 });
    };
    switch (this.mode) {
      case 'up':
        return accept();
      case 'down':
        return answer(res, 503, { error: 'the data platform is down (mock)' }, { 'retry-after': '1' });
      case 'flaky':
        return Math.random() < 0.5 ? answer(res, 500, { error: 'flaky (mock)' }) : accept();
      case 'slow': {
        // A client that gave up before the answer got no 2xx: it must not be counted as one.
        const timer = setTimeout(accept, this.slowMs);
        res.once('close', () => clearTimeout(timer));
        return;
      }
    }
  }
}

function answer(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

/** The request body as JSON, or undefined when it is not JSON (or too large). */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}
