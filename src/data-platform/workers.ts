import { BrokenCircuitError } from 'cockatiel';
import type { Logger } from 'pino';
import { EventStore } from '../shared/eventstore/port';
import { ClaimedJob, Queue } from '../shared/queue/port';
import { DataPlatformClient } from './client';
import { Deliveries } from './deliveries';
import type { DeliveryDoc } from '../../projections/data-platform-outbox';
import { orderPayload } from './payload';

export interface DeliverySettings {
  /** Concurrent deliveries in this process. */
  readonly workers: number;
  /** How often an idle worker looks for jobs other processes queued or that fell due. */
  readonly pollMs: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  /** How often PENDING deliveries without a job are queued again. */
  readonly reconcileMs: number;
  /**
   * How long a worker goes on sending the jobs of one claim: the rest go back on the queue, so a
   * claim is never held much longer than one request may take (the queue's lease is at least
   * three times that).
   */
  readonly batchBudgetMs: number;
}

/** After an infrastructure failure (queue or documents away), before the worker tries again. */
const ERROR_PAUSE_MS = 1_000;

/**
 * Exponential backoff with "equal jitter": half of the delay is fixed, half random, so the
 * retries of deliveries that failed together (the platform went down) spread out.
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
  return ceiling / 2 + (random() * ceiling) / 2;
}

/** How many deliveries the reconciler queues in one call. */
const REQUEUE_CHUNK = 100;

/**
 * The reconciler's step: queues every PENDING delivery. The queue keeps one job per id, so only
 * deliveries without a job get one. Returns how many did.
 */
export async function requeuePending(deliveries: Deliveries, queue: Queue): Promise<number> {
  let queued = 0;
  let chunk: string[] = [];
  for await (const delivery of deliveries.pending()) {
    chunk.push(delivery.id);
    if (chunk.length === REQUEUE_CHUNK) {
      queued += await queue.enqueue(chunk);
      chunk = [];
    }
  }
  return queued + (await queue.enqueue(chunk));
}

/**
 * Jobs a worker claims at once. They are sent one after another (a worker never has more than
 * one request on the platform, so the breaker bounds what a failing platform receives), then
 * recorded as delivered in one document write and acked in one queue call: per order, the queue
 * and the read models cost a fraction of a round trip instead of three.
 */
export const CLAIM_BATCH = 8;

/** Timed pauses that end early on wake() (work arrived) and at once for good after stop(). */
class Pauses {
  private readonly waiting = new Set<() => void>();
  stopped = false;

  pause(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiting.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiting.add(done);
    });
  }

  wake(): void {
    [...this.waiting].forEach((done) => done());
  }

  stop(): void {
    this.stopped = true;
    this.wake();
  }
}

export interface DeliveryWorkersDeps {
  readonly queue: Queue;
  readonly deliveries: Deliveries;
  readonly events: EventStore;
  readonly client: DataPlatformClient;
  readonly logger: Logger;
  readonly settings: DeliverySettings;
}

/**
 * Sends queued deliveries to the data platform, off the request path: a payment has long been
 * answered when its delivery runs, and a platform that is down only leaves deliveries PENDING.
 *
 * Each worker claims one job, sends the order with the event id as Idempotency-Key, and then
 * records the outcome before it acks (so a crash in between re-sends, never loses): DELIVERED
 * on a 2xx; otherwise one more failed attempt, and the job goes back on the queue after a
 * backoff, or the delivery goes DEAD when the attempts are used up. While the breaker is open
 * no request is made and no attempt counted: the workers wait until it lets a trial through.
 *
 * Beside them, the reconciler queues every PENDING delivery again now and then; the queue keeps
 * one job per id, so this only adds the jobs that were lost (queueing failed after the outbox
 * committed, or the queue itself was lost).
 */
export class DeliveryWorkers {
  /** Workers' pauses: a job queued by this process ends them early. */
  private readonly idle = new Pauses();
  /** The reconciler's: only its period (or stop) ends them. */
  private readonly schedule = new Pauses();
  private loops: Promise<void>[] = [];
  private unsubscribe: () => void = () => undefined;

  constructor(private readonly deps: DeliveryWorkersDeps) {}

  start(): void {
    if (this.loops.length > 0 || this.idle.stopped) return;
    this.unsubscribe = this.deps.queue.onEnqueued(() => this.idle.wake());
    this.loops = [...Array.from({ length: this.deps.settings.workers }, () => this.work()), this.reconcileLoop()];
  }

  /** Lets each worker finish the delivery in hand (a request timeout or two at most), then returns. */
  async stop(): Promise<void> {
    this.unsubscribe();
    this.idle.stop();
    this.schedule.stop();
    await Promise.all(this.loops);
  }

  private async work(): Promise<void> {
    const { queue, client, logger, settings } = this.deps;
    while (!this.idle.stopped) {
      const paused = client.pausedFor();
      if (paused > 0) {
        await this.idle.pause(paused);
        continue;
      }
      let jobs: ClaimedJob[] = [];
      try {
        jobs = await queue.claim(CLAIM_BATCH);
        if (jobs.length > 0) await this.deliver(jobs);
        else await this.idle.pause(settings.pollMs);
      } catch (error) {
        logger.warn({ err: error, deliveries: jobs.map((job) => job.id) }, 'data-platform delivery step failed; its jobs come back after the lease');
        await this.idle.pause(ERROR_PAUSE_MS);
      }
    }
  }

  /**
   * Sends each claimed delivery that is still PENDING, one after another, then records the ones
   * the platform took before acking them (a crash in between re-sends, never loses). A job whose
   * delivery is delivered or dead already (a repeated job), or gone with a rebuild that will queue
   * it again, is only acked. After a failure, or once the claim's time budget is spent, the jobs
   * not yet sent go back on the queue at once, no attempt counted.
   */
  private async deliver(jobs: readonly ClaimedJob[]): Promise<void> {
    const { queue, deliveries, settings } = this.deps;
    const found = new Map((await deliveries.getMany(jobs.map((job) => job.id))).map((delivery) => [delivery.id, delivery]));
    const finished: ClaimedJob[] = [];
    const delivered: string[] = [];
    const unsent: ClaimedJob[] = [];
    const until = Date.now() + settings.batchBudgetMs;
    let failing = false;
    for (const job of jobs) {
      const delivery = found.get(job.id);
      if (delivery?.status !== 'PENDING') {
        finished.push(job);
        continue;
      }
      if (failing || Date.now() > until) {
        unsent.push(job);
        continue;
      }
      const error = await this.attempt(delivery);
      if (error === undefined) {
        delivered.push(delivery.id);
        finished.push(job);
        continue;
      }
      failing = true;
      if (await this.failed(job, delivery, error)) finished.push(job);
    }
    await deliveries.markDelivered(delivered);
    await queue.ack(finished);
    for (const job of unsent) await queue.release(job, this.deps.client.pausedFor());
  }

  /** Undefined when the platform took it, else why not. */
  private async attempt(delivery: DeliveryDoc): Promise<unknown> {
    const { events, client } = this.deps;
    try {
      await client.send(delivery.id, await orderPayload(events, delivery));
      return undefined;
    } catch (error) {
      return error ?? new Error('delivery failed');
    }
  }

  /**
   * After a failed send: the job goes back on the queue (after the breaker's pause, or a backoff
   * while attempts remain) and false is returned; true when the delivery went DEAD and its job is done.
   */
  private async failed(job: ClaimedJob, delivery: DeliveryDoc, error: unknown): Promise<boolean> {
    const { queue, deliveries, client, logger, settings } = this.deps;
    if (error instanceof BrokenCircuitError) {
      await queue.release(job, client.pausedFor());
      return false;
    }
    const failed = await deliveries.recordFailure(delivery.id, error instanceof Error ? error.message : String(error));
    if (failed?.status === 'PENDING') {
      await queue.release(job, backoffDelay(failed.attempts, settings.backoffBaseMs, settings.backoffMaxMs));
      return false;
    }
    if (failed?.status === 'DEAD') {
      logger.warn({ delivery: failed.id, orderId: failed.orderId, attempts: failed.attempts, lastError: failed.lastError }, 'data-platform delivery is DEAD; an admin may retry it');
    }
    return true;
  }

  private async reconcileLoop(): Promise<void> {
    const { logger, settings } = this.deps;
    while (!this.schedule.stopped) {
      try {
        const queued = await requeuePending(this.deps.deliveries, this.deps.queue);
        if (queued > 0) logger.info({ queued }, 'queued PENDING data-platform deliveries that had no job');
      } catch (error) {
        logger.warn({ err: error }, 'data-platform reconciliation failed; it runs again later');
      }
      await this.schedule.pause(settings.reconcileMs);
    }
  }
}
