/**
 * A work queue of job ids, at least once. The work itself (what to do, how far it got) lives
 * with the caller, keyed by the job id; the queue only says whose turn it is. That keeps a
 * queue that was lost (Redis flushed) rebuildable: re-enqueue what the caller still has to do.
 *
 * A claimed job is held for the adapter's lease. A holder that neither acks nor releases it
 * in time (it crashed or stalled) loses it: the job is handed out again. Since a job id is live
 * at most once, enqueueing an id that is waiting, delayed or held does nothing.
 */
export interface ClaimedJob {
  readonly id: string;
  /** Names this claim: ack and release with a receipt of an earlier claim do nothing. */
  readonly receipt: string;
}

export interface Queue {
  readonly adapterName: string;
  /** Adds a job for each id that has none live already, in one step; answers how many were added. */
  enqueue(ids: readonly string[]): Promise<number>;
  /**
   * Up to `max` jobs whose turn has come (new, released and due, or whose lease ran out),
   * each held by this caller until acked, released or its lease runs out.
   */
  claim(max: number): Promise<ClaimedJob[]>;
  /**
   * Done: each job is gone and its id may be enqueued again, in one step. Answers how many were
   * acked; a job whose claim was lost is left to its new holder and not counted.
   */
  ack(jobs: readonly ClaimedJob[]): Promise<number>;
  /** Not done: the job comes back after `delayMs`. False when the claim was lost. */
  release(job: ClaimedJob, delayMs: number): Promise<boolean>;
  /**
   * Calls `listener` when this instance enqueued a job. A hint only: consumers still poll,
   * for other processes' jobs and for released ones falling due.
   */
  onEnqueued(listener: () => void): () => void;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface QueueOptions {
  /** How long a claim holds a job before it is handed out again. */
  readonly leaseMs: number;
}
