import { Gauge, Registry } from 'prom-client';
import { LAG_COUNT_LIMIT, ProjectionStatus, Projector } from './runtime';

/** One scrape asks every gauge; they share one status() (a count and a short read of the log behind each checkpoint). */
const SHARED_FOR_MS = 500;

/**
 * Each projection's lag on /metrics, as `GET /admin/projections` reports it: events past its
 * checkpoint (and whether that count was capped), and the age in ms of the oldest of them.
 * Computed when scraped, so it costs nothing between scrapes. A lag whose age is unknown (no
 * event behind carries a time) is left out.
 */
export function registerProjectionLag(projector: Projector, registry: Registry): void {
  let last: { at: number; status: Promise<ProjectionStatus[]> } | undefined;
  const status = () => {
    if (!last || performance.now() - last.at > SHARED_FOR_MS) last = { at: performance.now(), status: projector.status() };
    return last.status;
  };
  const gauge = (name: string, help: string, value: (s: ProjectionStatus) => number | null) =>
    new Gauge({
      name,
      help,
      labelNames: ['projection'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const item of await status()) {
          const v = value(item);
          if (v !== null) this.set({ projection: item.name }, v);
        }
      },
    });
  gauge('eventmart_projection_lag_events', `Events in the log past the projection checkpoint, counted up to ${LAG_COUNT_LIMIT}`, (s) => s.lagEvents);
  gauge('eventmart_projection_lag_events_capped', `1 when the lag count stopped at ${LAG_COUNT_LIMIT}: at least that many events lie behind`, (s) => (s.lagEventsCapped ? 1 : 0));
  gauge('eventmart_projection_lag_ms', 'Age in ms of the oldest event past the projection checkpoint (0 when caught up)', (s) => s.lagMs);
}
