import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { CheckpointMoved, Doc, DocumentStore, DocWrite } from '../src/shared/documents/port';
import { EventStore, StoredEvent } from '../src/shared/eventstore/port';
import { LeaseHolder } from '../src/shared/lease/holder';
import { LeaseService } from '../src/shared/lease/port';
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
  readonly lease?: { readonly service: LeaseService; readonly ttlMs: number; readonly owner: string };
  /** False for a replay into a scratch store: the hooks reach shared state outside it (caches, ranking, queue). */
  readonly hooks?: boolean;
}

export interface CatchUpOptions {
  /** Stop at this position (inclusive) instead of the head: to compare with a read model that stands there. */
  readonly until?: string;
  /** Called after each batch with how many events it consumed and the position reached. */
  readonly onBatch?: (events: number, position: string) => void;
}

export interface ProjectionStatus {
  readonly name: string;
  readonly checkpoint: string | null;
  readonly head: string | null;
  readonly caughtUp: boolean;
}

/**
 * Follows the global log for each projection from its stored checkpoint: catch up, then live
 * (woken by in-process appends, polling for other processes'). Each batch of read-model writes
 * is stored together with the checkpoint it reaches, so after a crash a projection resumes
 * exactly where its read model is and never applies an event twice.
 */
export class Projector {
  private readonly emitter = new EventEmitter();
  private readonly checkpoints = new Map<string, string | null>();
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
    this.unsubscribe = this.events.onAppended(() => this.wake());
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
      while (!this.stopped) {
        try {
          const turn = lease ? await lease.turn() : { leading: true, gained: false };
          if (!turn.leading) {
            await sleep(lease!.retryMs);
            continue;
          }
          if (turn.gained) {
            // The previous runner's checkpoint is further on than the one this process last saw.
            this.checkpoints.delete(projection.name);
            await this.recover(projection, true);
          }
          if ((await this.step(projection, lease)) === 0) {
            if (!lease || lease.mayAct()) await this.recover(projection, false);
            await sleep(this.pollMs);
          }
        } catch (error) {
          this.logger.error({ err: error, projection: projection.name }, 'projection step failed; retrying');
          await sleep(this.pollMs);
        }
      }
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
   */
  async catchUp(name?: string, options: CatchUpOptions = {}): Promise<void> {
    for (const projection of this.select(name)) {
      for (;;) {
        const consumed = await this.step(projection, null, options.until);
        if (consumed === 0) break;
        options.onBatch?.(consumed, this.checkpoints.get(projection.name)!);
      }
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
    await this.exclusive(projection.name, async () => {
      await this.documents.reset(projection.name, projection.collections.map((c) => c.name));
      if (this.hooks) await projection.onReset?.();
      this.checkpoints.set(projection.name, null);
    });
    await this.catchUp(name, options);
  }

  async status(): Promise<ProjectionStatus[]> {
    const head = await this.events.headPosition();
    return Promise.all(
      this.projections.map(async ({ name }) => {
        const checkpoint = await this.documents.getCheckpoint(name);
        return { name, checkpoint, head, caughtUp: head === null || (checkpoint !== null && checkpoint >= head) };
      }),
    );
  }

  /** Called with the projection's name each time its checkpoint moves. */
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
    const { service, ttlMs, owner } = this.lease;
    const log = { projection: projection.name, owner };
    return new LeaseHolder(service, `projection:${projection.name}`, owner, ttlMs, {
      taken: (fencingToken) => this.logger.info({ ...log, fencingToken }, 'took the projection lease'),
      lost: () => this.logger.warn(log, 'lost the projection lease'),
      unreachable: (error) => this.logger.warn({ ...log, err: error }, 'lease backend unreachable: running the projection without the lease'),
    });
  }

  private async recover(projection: Projection, tookOver: boolean): Promise<void> {
    if (this.hooks && projection.recover) await this.exclusive(projection.name, () => projection.recover!(tookOver));
  }

  /** Applies one batch; returns how many events it consumed. */
  private step(projection: Projection, lease: LeaseHolder | null, until?: string): Promise<number> {
    return this.exclusive(projection.name, async () => {
      if (!this.checkpoints.has(projection.name)) {
        this.checkpoints.set(projection.name, await this.documents.getCheckpoint(projection.name));
      }
      const from = this.checkpoints.get(projection.name) ?? null;
      const read = await this.events.readAll(from, this.batchSize);
      const batch = until === undefined ? read : read.filter((event) => event.position <= until);
      if (batch.length === 0) return 0;
      const writes = await applyBatch(projection, batch, this.documents);
      // A lease that lapsed while the batch was applied is someone else's by now: leave the batch to them.
      if (lease && !lease.mayAct()) return 0;
      const position = batch[batch.length - 1].position;
      try {
        await this.documents.write(writes, { projection: projection.name, position, previous: from });
      } catch (error) {
        if (!(error instanceof CheckpointMoved)) throw error;
        // Another runner applied this batch first: take its checkpoint and carry on from there.
        this.checkpoints.set(projection.name, error.actual);
        return batch.length;
      }
      this.checkpoints.set(projection.name, position);
      const handled = batch.filter((event) => projection.eventTypes.has(event.type));
      if (this.hooks && projection.afterCommit && handled.length > 0) await projection.afterCommit(handled);
      this.emitter.emit('advanced', projection.name);
      return batch.length;
    });
  }
}

async function applyBatch(projection: Projection, batch: readonly StoredEvent[], documents: DocumentStore): Promise<DocWrite[]> {
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
  for (const event of batch) {
    if (projection.eventTypes.has(event.type)) await projection.apply(event, view);
  }
  return [...pending.values()];
}
