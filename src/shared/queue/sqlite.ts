import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { immediate, openSqlite, SqliteDatabase, SqliteOptions } from '../sqlite';
import { ClaimedJob, Queue, QueueOptions } from './port';

/**
 * The queue as rows of one SQLite table, which several processes may share (WAL). A row is a
 * live job; `visible_at` is when it may next be claimed: now for a new job, the lease's end for
 * a held one, the due time for a released one. So a lease that runs out needs no sweeper: the
 * row simply becomes claimable again, and the new claim's receipt makes the old one stale.
 */
export class SqliteQueue implements Queue {
  readonly adapterName = 'sqlite';
  private readonly db: SqliteDatabase;
  private readonly emitter = new EventEmitter();
  private readonly statements;

  constructor(
    file: string,
    private readonly name: string,
    private readonly options: QueueOptions & SqliteOptions,
  ) {
    this.emitter.setMaxListeners(0);
    this.db = openSqlite(file, options);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS queue_jobs (
        queue TEXT NOT NULL,
        id TEXT NOT NULL,
        visible_at INTEGER NOT NULL,
        receipt TEXT,
        PRIMARY KEY (queue, id)
      );
      CREATE INDEX IF NOT EXISTS queue_jobs_visible_at ON queue_jobs (queue, visible_at);
    `);
    this.statements = {
      enqueue: this.db.prepare<[string, string, number], void>(
        'INSERT OR IGNORE INTO queue_jobs (queue, id, visible_at, receipt) VALUES (?, ?, ?, NULL)',
      ),
      // One statement, so two processes claiming at once cannot both take a row; rowid keeps
      // jobs due at the same millisecond in the order they came.
      claim: this.db
        .prepare<{ queue: string; now: number; until: number; receipt: string; max: number }, string>(
          `UPDATE queue_jobs SET visible_at = @until, receipt = @receipt
           WHERE queue = @queue AND id IN (
             SELECT id FROM queue_jobs WHERE queue = @queue AND visible_at <= @now ORDER BY visible_at, rowid LIMIT @max
           )
           RETURNING id`,
        )
        .pluck(),
      ack: this.db.prepare<[string, string, string], void>('DELETE FROM queue_jobs WHERE queue = ? AND id = ? AND receipt = ?'),
      release: this.db.prepare<[number, string, string, string], void>(
        'UPDATE queue_jobs SET visible_at = ?, receipt = NULL WHERE queue = ? AND id = ? AND receipt = ?',
      ),
      ping: this.db.prepare('SELECT 1'),
    };
  }

  async enqueue(ids: readonly string[]): Promise<number> {
    const now = Date.now();
    const added = immediate(this.db, () => ids.reduce((sum, id) => sum + this.statements.enqueue.run(this.name, id, now).changes, 0));
    if (added > 0) this.emitter.emit('enqueued');
    return added;
  }

  async claim(max: number): Promise<ClaimedJob[]> {
    const now = Date.now();
    const receipt = randomUUID();
    const ids = this.statements.claim.all({ queue: this.name, now, until: now + this.options.leaseMs, receipt, max });
    return ids.map((id) => ({ id, receipt }));
  }

  async ack(jobs: readonly ClaimedJob[]): Promise<number> {
    return immediate(this.db, () => jobs.reduce((sum, job) => sum + this.statements.ack.run(this.name, job.id, job.receipt).changes, 0));
  }

  async release(job: ClaimedJob, delayMs: number): Promise<boolean> {
    return this.statements.release.run(Date.now() + delayMs, this.name, job.id, job.receipt).changes === 1;
  }

  onEnqueued(listener: () => void): () => void {
    this.emitter.on('enqueued', listener);
    return () => this.emitter.off('enqueued', listener);
  }

  async ping(): Promise<void> {
    this.statements.ping.get();
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
