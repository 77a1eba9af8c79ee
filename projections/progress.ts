/**
 * Progress of a long pass over the log, for an operator at a terminal: events done, events per
 * second and an ETA, rewritten in place a few times a second. Anywhere else (CI logs, pipes) it
 * prints nothing, so logs stay readable.
 */
export interface Progress {
  advance(events: number, position: string): void;
  done(): void;
}

const QUIET: Progress = { advance: () => undefined, done: () => undefined };
const REDRAW_MS = 250;

/** The log offset a position stands for: SQLite's row number, KurrentDB's commit position (bytes, so progress is by share of the log). */
export const logOffset = (position: string | null) => (position === null ? 0 : Number(position.split('/')[0]));

export function progress(label: string, head: string | null, out: NodeJS.WriteStream = process.stdout): Progress {
  if (!out.isTTY || head === null) return QUIET;
  const started = Date.now();
  const end = logOffset(head);
  let events = 0;
  let reached = 0;
  let drawnAt = 0;
  const draw = () => {
    const seconds = (Date.now() - started) / 1000;
    const rate = seconds > 0 ? events / seconds : 0;
    const share = end > 0 ? Math.min(1, reached / end) : 1;
    const eta = share > 0 && share < 1 ? ` ETA ${Math.ceil((seconds / share) * (1 - share))} s` : '';
    out.write(`\r\x1b[K${label}: ${events.toLocaleString('en')} events, ${Math.round(rate).toLocaleString('en')} events/s, ${Math.floor(share * 100)}%${eta}`);
  };
  return {
    advance(count, position) {
      events += count;
      reached = logOffset(position);
      if (Date.now() - drawnAt >= REDRAW_MS) {
        drawnAt = Date.now();
        draw();
      }
    },
    done() {
      out.write('\r\x1b[K');
    },
  };
}
