import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { CheckpointMoved, Doc, DocumentStore, DocWrite } from '../src/shared/documents/port';
import { EventStore, StoredEvent } from '../src/shared/eventstore/port';
import { Projection, ProjectionView } from './projection';

export interface ProjectorOptions {
  readonly batchSize?: number;
  /** Fallback wake-up for events written by other processes. */
  readonly pollMs?: number;
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

  constructor(
    private readonly events: EventStore,
    private readonly documents: DocumentStore,
    readonly projections: readonly Projection[],
    private readonly logger: Logger,
    options: ProjectorOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 500;
    this.pollMs = options.pollMs ?? 200;
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
    const sleep = () =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.pollMs);
        pending.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    this.loops = this.projections.map(async (projection) => {
      while (!this.stopped) {
        try {
          if ((await this.step(projection)) === 0) await sleep();
        } catch (error) {
          this.logger.error({ err: error, projection: projection.name }, 'projection step failed; retrying');
          await sleep();
        }
      }
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

  /** Applies everything up to the current head (tests, CLI, rebuilds). */
  async catchUp(name?: string): Promise<void> {
    for (const projection of this.select(name)) {
      while ((await this.step(projection)) > 0);
    }
  }

  /** Clears the read model and replays the whole log into it. */
  async rebuild(name: string): Promise<void> {
    const [projection] = this.select(name);
    await this.exclusive(projection.name, async () => {
      await this.documents.reset(projection.name, projection.collections.map((c) => c.name));
      await projection.onReset?.();
      this.checkpoints.set(projection.name, null);
    });
    await this.catchUp(name);
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

  /** Applies one batch; returns how many events it consumed. */
  private step(projection: Projection): Promise<number> {
    return this.exclusive(projection.name, async () => {
      if (!this.checkpoints.has(projection.name)) {
        this.checkpoints.set(projection.name, await this.documents.getCheckpoint(projection.name));
      }
      const from = this.checkpoints.get(projection.name) ?? null;
      const batch = await this.events.readAll(from, this.batchSize);
      if (batch.length === 0) return 0;
      const writes = await applyBatch(projection, batch, this.documents);
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
      if (projection.afterCommit && handled.length > 0) await projection.afterCommit(handled);
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
