import Database from 'better-sqlite3';
import { SignJWT } from 'jose';
import type { EventStore } from '../../src/shared/eventstore/port';

/** Tokens exactly as the server issues them (HS256, sub, role, exp), signed with the JWT_SECRET the bench gives it. */
export class Tokens {
  private readonly key: Uint8Array;

  constructor(secret: string) {
    this.key = new TextEncoder().encode(secret);
  }

  mint(userId: string, role: 'customer' | 'admin' = 'customer'): Promise<string> {
    return new SignJWT({ role }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setSubject(userId).setIssuedAt().setExpirationTime('3h').sign(this.key);
  }

  async mintMany(userIds: readonly string[]): Promise<string[]> {
    const out: string[] = [];
    for (const userId of userIds) out.push(await this.mint(userId));
    return out;
  }
}

export interface Answer<T = any> {
  readonly status: number;
  readonly body: T;
}

/** One JSON request (for set-up and checks, not for load). */
export async function call<T = any>(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer<T>> {
  const res = await fetch(baseUrl + path, {
    method,
    headers: {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...options.headers,
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body: body as T };
}

/** Runs `task` over `items` with at most `concurrency` at once. */
export async function inParallel<T, R>(items: readonly T[], concurrency: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await task(items[i], i);
      }
    }),
  );
  return results;
}

export interface EventRow {
  readonly position: number;
  readonly stream: string;
  readonly revision: number;
  readonly type: string;
  readonly data: any;
}

/** The log as the checks read it: the truth every check compares with. */
export interface LogView {
  head(): number;
  count(): number;
  stream(stream: string): EventRow[];
  /** Events of `types` after `position`, in log order. */
  since(position: number, types: readonly string[]): EventRow[];
  /** Makes what the server has committed so far visible to the calls above. */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Reads the server's events.db directly: the log is the truth every check compares with. Only
 * SELECTs, on its own connection (WAL lets it read beside the server's writer).
 */
export class LogReader implements LogView {
  private readonly db: Database.Database;

  constructor(file: string) {
    this.db = new Database(file, { fileMustExist: true });
    this.db.pragma('busy_timeout = 10000');
  }

  head(): number {
    return (this.db.prepare('SELECT MAX(position) AS p FROM events').get() as { p: number | null }).p ?? 0;
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n;
  }

  stream(stream: string): EventRow[] {
    return (this.db.prepare('SELECT position, stream, revision, type, data FROM events WHERE stream = ? ORDER BY revision').all(stream) as Array<EventRow & { data: string }>).map(
      (row) => ({ ...row, data: JSON.parse(row.data) }),
    );
  }

  /** Events of `types` after `position`, in log order. */
  since(position: number, types: readonly string[]): EventRow[] {
    const marks = types.map(() => '?').join(',');
    return (
      this.db.prepare(`SELECT position, stream, revision, type, data FROM events WHERE position > ? AND type IN (${marks}) ORDER BY position`).all(position, ...types) as Array<
        EventRow & { data: string }
      >
    ).map((row) => ({ ...row, data: JSON.parse(row.data) }));
  }

  /** Every query reads the file as it is now. */
  async refresh(): Promise<void> {}

  async close(): Promise<void> {
    this.db.close();
  }
}

/**
 * The log through the EventStore port (`readAll`), for a store the bench cannot open as a file
 * (PostgreSQL): a copy in memory, brought up to the server's head by `refresh`.
 */
export class PortLogReader implements LogView {
  private readonly all: EventRow[] = [];
  private readonly byStream = new Map<string, EventRow[]>();
  private after: string | null;

  /**
   * `release` frees what the store runs on (its pool) once the store is closed. `skipped`: the
   * copy starts after this position, in a log seeded in bulk with exactly that many events before it.
   */
  constructor(
    private readonly store: EventStore,
    private readonly release: () => Promise<void> = async () => undefined,
    private readonly skipped = 0,
  ) {
    this.after = skipped === 0 ? null : String(skipped);
  }

  async refresh(): Promise<void> {
    for (;;) {
      const batch = await this.store.readAll(this.after, 10_000);
      if (batch.length === 0) return;
      for (const e of batch) {
        const row: EventRow = { position: Number(e.position), stream: e.stream, revision: Number(e.revision), type: e.type, data: e.data };
        this.all.push(row);
        const rows = this.byStream.get(e.stream);
        if (rows) rows.push(row);
        else this.byStream.set(e.stream, [row]);
      }
      this.after = batch[batch.length - 1].position;
    }
  }

  head(): number {
    return this.all.at(-1)?.position ?? this.skipped;
  }

  count(): number {
    return this.skipped + this.all.length;
  }

  stream(stream: string): EventRow[] {
    return this.byStream.get(stream) ?? [];
  }

  since(position: number, types: readonly string[]): EventRow[] {
    const wanted = new Set(types);
    // Positions ascend: find the first one after `position` by bisection.
    let lo = 0;
    let hi = this.all.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.all[mid].position <= position) lo = mid + 1;
      else hi = mid;
    }
    return this.all.slice(lo).filter((e) => wanted.has(e.type));
  }

  async close(): Promise<void> {
    await this.store.close();
    await this.release();
  }
}

export const position = (n: number) => String(n).padStart(20, '0');
