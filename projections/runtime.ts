import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { CheckpointMoved, Doc, DocumentStore, DocWrite, LeaseFenced } from '../src/shared/documents/port';
import { EventStore, StoredEvent } from '../src/shared/eventstore/port';
import { LeaseHolder } from '../src/shared/lease/holder';
import { LeaseService } from '../src/shared/lease/port';
import { logOffset } from './progress';
import { Projection, ProjectionView } from './projection';

export interface ProjectorOptions {
  readonly batchSize?: number;
  /** Fallback wake-up for events written by other processes. */
  readonly pollMs?: number;
  /**
   * With a lease, the live loop runs a projection only while this process holds its lease
   * (`projection:<name>`), so among several processes one does the work and a dead one is
   * replaced within about `ttlMs`. Without, it always runs.
   */
  readonly lease?: {
    readonly service: LeaseService;
    readonly ttlMs: number;
    readonly owner: string;
    /** Owner prefix of this instance's earlier lives, whose leases it takes at start (see LeaseHolder). */
    readonly takeOverFrom?: string;
  };
  /** False for a replay into a scratch store: the hooks reach shared state outside it (caches, ranking, queue). */
  readonly hooks?: boolean;
  /** How long the stored checkpoint may trail over events a projection ignores; see CHECKPOINT_PERSIST_MS. */
  readonly checkpointPersistMs?: number;
  /** Milliseconds on a monotonic clock (tests pass their own). */
  readonly now?: () => number;
  /** How long appends gather before the idle loops are woken to read them; see GATHER_MS. */
  readonly gatherMs?: number;
  /** How far status() counts the events behind a checkpoint; see LAG_COUNT_LIMIT. */
  readonly lagCountLimit?: number;
}

/**
 * Under a steady stream of small appends, waking the nine loops at each append made every
 * checkout pay for its own read-model transaction, so a half load cost nearly what a full one
 * did, where appends arrive while the loops work and batches form by themselves. A few
 * milliseconds of gathering let several appends share one batch and one commit; read-your-writes
 * waits that much longer (docs/BENCHMARKS.md, "Third round").
 */
export const GATHER_MS = 5;

/**
 * Most projections ignore most events (7 of 9 for a points charge), and committing a
 * checkpoint-only transaction for each batch of those was a large share of the server's CPU
 * under load. So such batches only move the checkpoint in memory, and it is stored at most
 * this long after it first trailed: a restart, or a runner in another process taking over,
 * then re-reads about a second of the log, which it skips again without applying anything.
 */
export const CHECKPOINT_PERSIST_MS = 1_000;

/** Each try loses only to a batch the previous holder committed meanwhile; the first batch of ours fences it anyway. */
const FENCE_ATTEMPTS = 5;

export interface CatchUpOptions {
  /** Stop at this position (inclusive) instead of the head: to compare with a read model that stands there. */
  readonly until?: string;
  /** Called after each batch with how many events it consumed and the position reached. */
  readonly onBatch?: (events: number, position: string) => void;
}

/**
 * How far a rebuild has replayed, in log offsets (see logOffset): events in SQLite, bytes of
 * the log in KurrentDB, so `done / total` is the share replayed either way. `total` is the
 * head when the rebuild started, raised if the replay runs past it.
 */
export interface RebuildProgress {
  readonly done: number;
  readonly total: number;
}

export interface ProjectionStatus {
  readonly name: string;
  readonly checkpoint: string | null;
  readonly head: string | null;
  readonly caughtUp: boolean;
  /** A rebuild this process is running, or null. */
  readonly rebuilding: RebuildProgress | null;
  /** Events in the log past the checkpoint, counted up to the lag count limit (LAG_COUNT_LIMIT unless told). */
  readonly lagEvents: number;
  /** True when the count stopped at that limit: at least `lagEvents` lie behind. */
  readonly lagEventsCapped: boolean;
  /** Age of the oldest event past the checkpoint (by its `occurredAt`): 0 when caught up, null when none of those events carries a time. */
  readonly lagMs: number | null;
}

/**
 * Events read to tell that a stored checkpoint trails only over events a projection ignores
 * (ignoresBetween): each waiting read does it at every poll, so it stays short. The trail is
 * short when writes are few, which is when a stored checkpoint lags the longest (a poll interval).
 */
const IGNORED_SCAN_LIMIT = 100;

/**
 * How far status() counts the events behind a checkpoint (EventStore.countAfter): past it the lag
 * is reported as this many, and capped. A count costs nothing on SQLite and a primary-key range of
 * at most this many entries on PostgreSQL (docs/BENCHMARKS.md); a lag this long is an incident
 * whatever its exact size.
 */
export const LAG_COUNT_LIMIT = 100_000;

/** Events read past a checkpoint to find the oldest that carries a time (lagMs). */
const AGE_SCAN_LIMIT = 100;

/**
 * Where one projection stands in this runner. `persisted` is the stored checkpoint as this
 * runner last wrote or read it: the compare-and-set is made against it, never against
 * `reached`, which only this process knows. Between the two lie only events the projection
 * ignores, so the read model at `persisted` is already the read model at `reached`.
 */
interface Progress {
  persisted: string | null;
  reached: string | null;
  /** When `reached` moved past `persisted`, or null while they are equal. */
  trailingSince: number | null;
}

/**
 * Follows the global log for each projection from its stored checkpoint: catch up, then live
 * (woken by in-process appends, polling for other processes'). Each batch of read-model writes
 * is stored together with the checkpoint it reaches, so after a crash a projection resumes
 * exactly where its read model is and never applies an event twice. A batch with nothing to
 * apply is not stored at once (see CHECKPOINT_PERSIST_MS): the stored checkpoint catches up
 * when the bound runs out, when the loop has been idle for a poll interval, at the end of a
 * catch-up and when the projector stops.
 */
export class Projector {
  private readonly emitter = new EventEmitter();
  private readonly progress = new Map<string, Progress>();
  private readonly rebuilds = new Map<string, RebuildProgress>();
  /** One step at a time per projection, whether from the live loop, a catch-up or a rebuild. */
  private readonly running = new Map<string, Promise<unknown>>();
  private stopped = true;
  private loops: Promise<void>[] = [];
  private wake: () => void = () => undefined;
  private unsubscribe: () => void = () => undefined;
  private readonly batchSize: number;
  private readonly pollMs: number;
  private readonly hooks: boolean;
  private readonly lease: ProjectorOptions['lease'];
  private readonly checkpointPersistMs: number;
  private readonly now: () => number;
  private readonly gatherMs: number;
  private readonly lagCountLimit: number;

  constructor(
    private readonly events: EventStore,
    private readonly documents: DocumentStore,
    readonly projections: readonly Projection[],
    private readonly logger: Logger,
    options: ProjectorOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 500;
    this.pollMs = options.pollMs ?? 200;
    this.hooks = options.hooks ?? true;
    this.lease = options.lease;
    this.checkpointPersistMs = options.checkpointPersistMs ?? CHECKPOINT_PERSIST_MS;
    this.now = options.now ?? (() => performance.now());
    this.gatherMs = options.gatherMs ?? GATHER_MS;
    this.lagCountLimit = options.lagCountLimit ?? LAG_COUNT_LIMIT;
    this.emitter.setMaxListeners(0);
  }

  async init(): Promise<void> {
    for (const projection of this.projections) {
      for (const spec of projection.collections) await this.documents.ensureCollection(spec);
    }
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    let pending: Array<() => void> = [];
    this.wake = () => {
      const waiting = pending;
      pending = [];
      waiting.forEach((resolve) => resolve());
    };
    let gathering: NodeJS.Timeout | undefined;
    const unsubscribe = this.events.onAppended(() => {
      gathering ??= setTimeout(() => {
        gathering = undefined;
        this.wake();
      }, this.gatherMs);
    });
    this.unsubscribe = () => {
      unsubscribe();
      clearTimeout(gathering);
    };
    const sleep = (ms: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        pending.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    this.loops = this.projections.map(async (projection) => {
      const lease = this.leaseFor(projection);
      // An empty step right after a busy one is the normal state under load (the loop empties
      // the log after nearly every append), so the checkpoint is stored only after a whole
      // poll interval without events, or storing it would cost the commit it was spared.
      let quiet = false;
      // A repair check may cost a round trip (is the ranking in Redis intact?): under load it
      // would run after every batch, so it runs at most once a poll interval.
      let recoveredAt = -Infinity;
      while (!this.stopped) {
        try {
          const turn = lease ? await lease.turn() : { leading: true, gained: false };
          if (!turn.leading) {
            await sleep(lease!.retryMs);
            continue;
          }
          if (turn.gained) {
            // The previous runner's checkpoint is further on than the one this process last saw.
            this.progress.delete(projection.name);
            await this.fence(projection, lease!);
            await this.recover(projection, true);
          }
          if ((await this.step(projection, lease)) > 0) {
            quiet = false;
            continue;
          }
          if (!lease || lease.mayAct()) {
            if (quiet) await this.persist(projection, lease);
            if (this.now() - recoveredAt >= this.pollMs) {
              recoveredAt = this.now();
              await this.recover(projection, false);
            }
          }
          quiet = true;
          await sleep(this.pollMs);
        } catch (error) {
          this.logger.error({ err: error, projection: projection.name }, 'projection step failed; retrying');
          await sleep(this.pollMs);
        }
      }
      // So that whoever runs it next, here after a restart or elsewhere, starts from here.
      await this.persist(projection, lease).catch((error: unknown) =>
        this.logger.warn({ err: error, projection: projection.name }, 'could not store the checkpoint on stop'),
      );
      await lease?.release();
    });
  }

  /** Stops at a checkpoint: the batch in progress completes, no new one starts. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe();
    this.wake();
    await Promise.all(this.loops);
    this.loops = [];
  }

  /**
   * Applies everything up to the current head (tests, CLI, rebuilds), whoever holds the lease:
   * an operator's replay beside a live runner costs duplicate reads, the checkpoint keeps it right.
   * Leaves the checkpoint stored where it stopped: the CLI exits right after, and `verify`
   * compares stored checkpoints.
   */
  async catchUp(name?: string, options: CatchUpOptions = {}): Promise<void> {
    for (const projection of this.select(name)) {
      for (;;) {
        const consumed = await this.step(projection, null, options.until);
        if (consumed === 0) break;
        options.onBatch?.(consumed, this.reached(projection.name)!);
      }
      await this.persist(projection, null);
    }
  }

  /**
   * Clears the read model and replays the whole log into it, in place: readers see it refill.
   * Not into fresh collections swapped in at the end: the document port has no atomic rename
   * (MongoDB cannot rename inside the transaction that moves the checkpoint), and projections
   * keep state outside it (ranking, cache, queue) that a shadow copy would have to fork too.
   */
  async rebuild(name: string, options: CatchUpOptions = {}): Promise<void> {
    const [projection] = this.select(name);
    this.rebuilds.set(projection.name, { done: 0, total: logOffset(await this.events.headPosition()) });
    const onBatch = (events: number, position: string) => {
      const done = logOffset(position);
      this.rebuilds.set(projection.name, { done, total: Math.max(done, this.rebuilds.get(projection.name)?.total ?? done) });
      options.onBatch?.(events, position);
    };
    try {
      await this.exclusive(projection.name, async () => {
        await this.documents.reset(projection.name, projection.collections.map((c) => c.name));
        if (this.hooks) await projection.onReset?.();
        this.progress.set(projection.name, { persisted: null, reached: null, trailingSince: null });
      });
      await this.catchUp(name, { ...options, onBatch });
    } finally {
      this.rebuilds.delete(projection.name);
    }
  }

  /**
   * The checkpoint is the further of the stored one and where this process has got to: the
   * stored one may trail over events a projection ignores, and reporting it would show a
   * runner that is up to date as behind. Another process's runner is seen through the stored
   * one only, up to CHECKPOINT_PERSIST_MS or a poll interval late.
   */
  async status(): Promise<ProjectionStatus[]> {
    const head = await this.events.headPosition();
    // Projections usually stand at a few checkpoints between them: read what lies behind each once.
    const behind = new Map<string | null, Promise<Lag>>();
    return Promise.all(
      this.projections.map(async ({ name }) => {
        const checkpoint = later(await this.documents.getCheckpoint(name), this.reached(name));
        const caughtUp = head === null || (checkpoint !== null && checkpoint >= head);
        if (!caughtUp && !behind.has(checkpoint)) behind.set(checkpoint, this.lagBehind(checkpoint));
        const lag = caughtUp ? { lagEvents: 0, lagEventsCapped: false, lagMs: 0 } : await behind.get(checkpoint)!;
        return { name, checkpoint, head, caughtUp, rebuilding: this.rebuilds.get(name) ?? null, ...lag };
      }),
    );
  }

  private async lagBehind(checkpoint: string | null): Promise<Lag> {
    const [lagEvents, first] = await Promise.all([this.events.countAfter(checkpoint, this.lagCountLimit), this.events.readAll(checkpoint, AGE_SCAN_LIMIT)]);
    const oldest = first.find((event) => typeof event.data.occurredAt === 'string');
    const age = oldest === undefined ? NaN : Date.now() - Date.parse(oldest.data.occurredAt as string);
    return { lagEvents, lagEventsCapped: lagEvents >= this.lagCountLimit, lagMs: Number.isNaN(age) ? null : Math.max(0, age) };
  }

  /**
   * Where this process's runner has got to, possibly ahead of the stored checkpoint: every
   * event up to it is either applied and committed or ignored by the projection, so the read
   * model already reflects it. Null when this process has not run the projection.
   */
  reached(name: string): string | null {
    return this.progress.get(name)?.reached ?? null;
  }

  /**
   * True when the log after `after` up to `upTo` holds only events the projection ignores, read
   * in one short batch (a longer stretch answers false): a read model stored at `after` is then
   * the read model at `upTo`, whichever process runs the projection.
   */
  async ignoresBetween(name: string, after: string | null, upTo: string): Promise<boolean> {
    const projection = this.projections.find((p) => p.name === name);
    if (!projection) return false;
    const events = await this.events.readAll(after, IGNORED_SCAN_LIMIT);
    // Only a read that reaches `upTo` tells what lies before it: a log that ends short of it has
    // not shown this process the write yet, so nothing can count as past it.
    const reachesUpTo = events.length > 0 && events[events.length - 1].position >= upTo;
    return reachesUpTo && events.every((event) => event.position > upTo || !projection.eventTypes.has(event.type));
  }

  /** Called with the projection's name each time its checkpoint moves, stored or not. */
  onAdvance(listener: (name: string) => void): () => void {
    this.emitter.on('advanced', listener);
    return () => this.emitter.off('advanced', listener);
  }

  private select(name?: string): readonly Projection[] {
    if (name === undefined) return this.projections;
    const found = this.projections.find((p) => p.name === name);
    if (!found) throw new Error(`no projection named ${name}`);
    return [found];
  }

  private exclusive<T>(name: string, task: () => Promise<T>): Promise<T> {
    const previous = this.running.get(name) ?? Promise.resolve();
    const next = previous.then(task, task);
    this.running.set(name, next.catch(() => undefined));
    return next;
  }

  private leaseFor(projection: Projection): LeaseHolder | null {
    if (!this.lease) return null;
    const { service, ttlMs, owner, takeOverFrom } = this.lease;
    const log = { projection: projection.name, owner };
    // An in-process lease has no rival to take it from: news only where processes share one.
    const level = service.adapterName === 'in-process' ? 'debug' : 'info';
    const events = {
      taken: (fencingToken: number) => this.logger[level]({ ...log, fencingToken }, 'took the projection lease'),
      lost: () => this.logger.warn(log, 'lost the projection lease'),
      unreachable: (error: unknown) => this.logger.warn({ ...log, err: error }, 'lease backend unreachable: running the projection without the lease'),
    };
    return new LeaseHolder(service, `projection:${projection.name}`, owner, ttlMs, events, undefined, takeOverFrom);
  }

  private async recover(projection: Projection, tookOver: boolean): Promise<void> {
    if (this.hooks && projection.recover) await this.exclusive(projection.name, () => projection.recover!(tookOver));
  }

  private async progressOf(name: string): Promise<Progress> {
    let progress = this.progress.get(name);
    if (!progress) {
      const stored = await this.documents.getCheckpoint(name);
      progress = { persisted: stored, reached: stored, trailingSince: null };
      this.progress.set(name, progress);
    }
    return progress;
  }

  /** Applies one batch; returns how many events it consumed. */
  private step(projection: Projection, lease: LeaseHolder | null, until?: string): Promise<number> {
    return this.exclusive(projection.name, async () => {
      const progress = await this.progressOf(projection.name);
      const read = await this.events.readAll(progress.reached, this.batchSize);
      const batch = until === undefined ? read : read.filter((event) => event.position <= until);
      if (batch.length === 0) return 0;
      const position = batch[batch.length - 1].position;
      const handled = batch.filter((event) => projection.eventTypes.has(event.type));
      const overdue = progress.trailingSince !== null && this.now() - progress.trailingSince >= this.checkpointPersistMs;
      if (handled.length === 0 && !overdue) {
        // As below: a runner whose lease lapsed claims nothing more, not even in memory.
        if (lease && !lease.mayAct()) return 0;
        progress.reached = position;
        progress.trailingSince ??= this.now();
        this.emitter.emit('advanced', projection.name);
        return batch.length;
      }
      const writes = await applyBatch(projection, handled, this.documents);
      // A lease that lapsed while the batch was applied is someone else's by now: leave the batch to them.
      if (lease && !lease.mayAct()) return 0;
      if (!(await this.commit(projection.name, progress, writes, position, lease))) return batch.length;
      if (this.hooks && projection.afterCommit && handled.length > 0) await projection.afterCommit(handled);
      this.emitter.emit('advanced', projection.name);
      return batch.length;
    });
  }

  /**
   * Stores the new lease's token with the checkpoint as it stands, before any batch: from then on
   * the previous holder's writes are refused, even one racing our first batch (it could win
   * every such race while it is still running, a restart beside a hung predecessor).
   */
  private fence(projection: Projection, lease: LeaseHolder): Promise<void> {
    return this.exclusive(projection.name, async () => {
      for (let attempt = 0; attempt < FENCE_ATTEMPTS && lease.mayAct(); attempt++) {
        const progress = await this.progressOf(projection.name);
        if (await this.commit(projection.name, progress, [], progress.persisted, lease)) return;
      }
    });
  }

  /** Stores the checkpoint this runner has reached, if it is past the one it last stored. */
  private persist(projection: Projection, lease: LeaseHolder | null): Promise<void> {
    return this.exclusive(projection.name, async () => {
      const progress = this.progress.get(projection.name);
      if (!progress || progress.reached === progress.persisted) return;
      if (lease && !lease.mayAct()) return;
      await this.commit(projection.name, progress, [], progress.reached, lease);
    });
  }

  /**
   * Stores writes with the checkpoint, fenced by the lease's token; false when another runner had
   * moved the checkpoint or holds a later token, which leaves them unwritten.
   */
  private async commit(name: string, progress: Progress, writes: readonly DocWrite[], position: string | null, lease: LeaseHolder | null): Promise<boolean> {
    try {
      await this.documents.write(writes, { projection: name, position, previous: progress.persisted, fence: lease?.fencingToken ?? undefined });
    } catch (error) {
      if (error instanceof LeaseFenced) {
        // Our lease went to a successor that has written since: stop until we hold it again, and re-read from the store then.
        lease?.fenced(error.current);
        this.progress.delete(name);
        return false;
      }
      if (!(error instanceof CheckpointMoved)) throw error;
      // Another runner got there first: take its checkpoint and carry on from there.
      settle(progress, error.actual);
      return false;
    }
    settle(progress, position);
    return true;
  }
}

type Lag = Pick<ProjectionStatus, 'lagEvents' | 'lagEventsCapped' | 'lagMs'>;

function settle(progress: Progress, stored: string | null): void {
  progress.persisted = stored;
  progress.reached = stored;
  progress.trailingSince = null;
}

/** The further of two positions; null stands before the first event. */
function later(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return a >= b ? a : b;
}

async function applyBatch(projection: Projection, handled: readonly StoredEvent[], documents: DocumentStore): Promise<DocWrite[]> {
  const pending = new Map<string, DocWrite>();
  const key = (collection: string, id: string) => `${collection}\u0000${id}`;
  const view: ProjectionView = {
    async get<T extends Doc>(collection: string, id: string) {
      const write = pending.get(key(collection, id));
      if (write) return write.kind === 'upsert' ? (write.doc as T) : null;
      return documents.get<T>(collection, id);
    },
    upsert(collection, doc) {
      pending.set(key(collection, doc.id), { kind: 'upsert', collection, doc });
    },
    delete(collection, id) {
      pending.set(key(collection, id), { kind: 'delete', collection, id });
    },
  };
  for (const event of handled) await projection.apply(event, view);
  return [...pending.values()];
}
