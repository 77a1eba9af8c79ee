export interface Flight {
  /** True once the key was deleted while this flight ran: its result must not be cached. */
  readonly deleted: boolean;
}

interface Running {
  promise: Promise<unknown>;
  deleted: boolean;
}

/** At most one task per key at a time in this process; callers arriving meanwhile share its result. */
export class SingleFlight {
  private readonly running = new Map<string, Running>();

  run<T>(key: string, task: (flight: Flight) => Promise<T>): Promise<T> {
    const current = this.running.get(key);
    if (current) return current.promise as Promise<T>;
    const flight: Running = { promise: Promise.resolve(), deleted: false };
    flight.promise = task(flight).finally(() => {
      if (this.running.get(key) === flight) this.running.delete(key);
    });
    this.running.set(key, flight);
    return flight.promise as Promise<T>;
  }

  /** Callers after this start a fresh flight instead of sharing one that may have read old data. */
  delete(key: string): void {
    const current = this.running.get(key);
    if (!current) return;
    current.deleted = true;
    this.running.delete(key);
  }
}
