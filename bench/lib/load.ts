import autocannon from 'autocannon';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

export interface LoadStats {
  /** Requests answered (2xx or not). */
  readonly requests: number;
  readonly durationS: number;
  readonly rps: number;
  readonly latencyMs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number; readonly mean: number };
  /** Connection errors and timeouts. */
  readonly errors: number;
  readonly non2xx: number;
  readonly statusCodes: Readonly<Record<string, number>>;
}

export type RequestSpec = autocannon.Request;

/**
 * Closed-loop load with autocannon: `connections` connections, each sending its next request
 * as soon as the previous one is answered. `amount` fixes the number of requests (every one is
 * answered before it returns, so writes can be counted exactly); otherwise `duration` seconds.
 */
export async function cannon(options: {
  url: string;
  connections: number;
  duration?: number;
  amount?: number;
  requests: RequestSpec[];
}): Promise<LoadStats> {
  // autocannon ends a run on its one-second tick, so with `amount` its duration is rounded up
  // to the next whole second: time the run from the first request to the last answer instead.
  const started = performance.now();
  let lastAnswer = started;
  const requests = options.amount
    ? options.requests.map((spec) => ({
        ...spec,
        onResponse: (status: number, body: string, context: Record<string, unknown>, headers: Record<string, string>) => {
          lastAnswer = performance.now();
          spec.onResponse?.(status, body, context, headers);
        },
      }))
    : options.requests;
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    pipelining: 1,
    timeout: 30,
    ...(options.amount ? { amount: options.amount } : { duration: options.duration ?? 5 }),
    requests,
  });
  const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count]));
  const answered = Object.values(statusCodes).reduce((a, b) => a + b, 0);
  const durationS = options.amount ? (lastAnswer - started) / 1000 : result.duration;
  return {
    requests: answered,
    durationS,
    rps: answered / durationS,
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max, mean: result.latency.mean },
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    statusCodes,
  };
}

/**
 * Open-loop load at a steady rate: request i is due at start + i / rate, whether or not earlier
 * ones were answered, and its latency counts from when it was due (so a stalled server cannot
 * hide its queue). autocannon's own rate limit releases every connection's quota at the top of
 * each second, which measures bursts, not a steady half load; hence this small driver.
 */
export async function paced(options: {
  url: string;
  rate: number;
  durationS: number;
  next: () => { method: string; path: string; headers: Record<string, string>; body?: string };
  onResponse?: (status: number, body: string, sent: { path: string; body?: string; headers: Record<string, string> }) => void;
}): Promise<LoadStats> {
  const agent = new Agent({ keepAlive: true, maxSockets: 512 });
  const total = Math.max(1, Math.round(options.rate * options.durationS));
  const latencies: number[] = [];
  const statusCodes: Record<string, number> = {};
  let errors = 0;
  let settled = 0;
  const start = performance.now();
  const target = new URL(options.url);

  await new Promise<void>((resolve) => {
    let sent = 0;
    const done = () => {
      settled += 1;
      if (settled === total) resolve();
    };
    const send = (due: number) => {
      const spec = options.next();
      const req = request(
        { host: target.hostname, port: target.port, method: spec.method, path: spec.path, headers: spec.headers, agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            latencies.push(performance.now() - due);
            const status = res.statusCode ?? 0;
            statusCodes[status] = (statusCodes[status] ?? 0) + 1;
            options.onResponse?.(status, Buffer.concat(chunks).toString(), spec);
            done();
          });
        },
      );
      req.on('error', () => {
        errors += 1;
        done();
      });
      if (spec.body !== undefined) req.write(spec.body);
      req.end();
    };
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * options.rate) + 1);
      while (sent < due) {
        send(start + (sent * 1000) / options.rate);
        sent += 1;
      }
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
  const durationS = (performance.now() - start) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => (latencies.length === 0 ? 0 : latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]);
  const answered = latencies.length;
  const non2xx = Object.entries(statusCodes).reduce((sum, [code, count]) => (code.startsWith('2') ? sum : sum + count), 0);
  return {
    requests: answered,
    durationS,
    rps: answered / durationS,
    latencyMs: {
      p50: round2(at(0.5)),
      p90: round2(at(0.9)),
      p99: round2(at(0.99)),
      max: round2(latencies.at(-1) ?? 0),
      mean: round2(latencies.reduce((a, b) => a + b, 0) / Math.max(1, answered)),
    },
    errors,
    non2xx,
    statusCodes,
  };
}

const round2 = (n: number) => Math.round(n * 100) / 100;
