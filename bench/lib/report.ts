import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { LoadStats } from './load';

export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface Goal {
  /** Minimum ratio to the Express hello-world's requests/s. */
  readonly ratio?: number;
  /** Maximum CPU per request as a multiple of the Express hello-world's, measured just before. */
  readonly cpuTimesExpress?: number;
  /** Checkout only: p99 at half the measured load must stay under this. */
  readonly halfLoadP99Ms?: number;
}

/** A goal in words: `× Express` after ratios for the goals table, nothing for the scenario table's column. */
export function goalText(goal: Goal, unit: string): string {
  return [
    goal.ratio === undefined ? null : `≥ ${goal.ratio}${unit}`,
    goal.cpuTimesExpress === undefined ? null : `CPU ≤ ${goal.cpuTimesExpress} × Express's`,
    goal.halfLoadP99Ms === undefined ? null : `p99 < ${goal.halfLoadP99Ms} ms at ½ load`,
  ]
    .filter((part) => part !== null)
    .join(', ');
}

/** Whether a scenario met its goal, given its ratio to Express and its CPU per request over Express's. */
export function goalMet(goal: Goal, ratio: number, cpuTimesExpress: number, halfLoadP99Ms: number | undefined): boolean {
  return (
    (goal.ratio === undefined || ratio >= goal.ratio) &&
    (goal.cpuTimesExpress === undefined || cpuTimesExpress <= goal.cpuTimesExpress) &&
    (goal.halfLoadP99Ms === undefined || (halfLoadP99Ms ?? Infinity) < goal.halfLoadP99Ms)
  );
}

export interface ScenarioResult {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly load: string;
  readonly stats: LoadStats;
  /** Responses that were not what the scenario expects (a sold-out 409 in a rush is expected). */
  readonly unexpected: number;
  readonly ratio: number | null;
  /** The Express hello-world measured right before this scenario: the ratio's denominator. */
  readonly besideExpressRps?: number;
  readonly besideExpressCpuUsPerRequest?: number;
  readonly goal?: Goal;
  readonly met?: boolean;
  readonly serverCpuUsPerRequest: number;
  /** Where the app kept its log and read models; absent in reports from before --store. */
  readonly store?: 'sqlite' | 'postgres';
  /** CPU of the database server per request, over the same window as serverCpuUsPerRequest (PostgreSQL only). */
  readonly databaseCpuUsPerRequest?: number;
  /** While the measured load ran: the whole machine (every core) and the app's main thread, busy %. */
  readonly busy?: { readonly machinePercent: number; readonly mainThreadPercent: number };
  readonly serverPeakRssMiB: number;
  readonly checks: readonly Check[];
  readonly halfLoad?: LoadStats & { readonly targetRps: number };
}

/** One command's load at one log size; the database server's CPU on PostgreSQL. */
export interface ScaleLoad {
  readonly stats: LoadStats;
  readonly cpuUsPerRequest: number;
  readonly databaseCpuUsPerRequest?: number;
}

export interface ScaleResult {
  /** Absent in reports from before PostgreSQL ran these: sqlite. */
  readonly store?: 'sqlite' | 'postgres';
  readonly fillerEvents: number;
  readonly eventsAtStart: number;
  readonly seedSeconds: number;
  readonly catchUpSeconds: number;
  readonly charge: ScaleLoad;
  readonly checkout: ScaleLoad;
  readonly peakRssMiB: number;
  readonly checks: readonly Check[];
}

/** One store's figure in one measurement of the side-by-side comparison. */
export interface PeerRow {
  readonly measurement: string;
  readonly store: string;
  /** Where the pair ran; absent in reports from before the PostgreSQL pair: sqlite. */
  readonly database?: 'sqlite' | 'postgres';
  /** Operations per second (for the read: streams read per second). */
  readonly perSecond: number;
  /** CPU of the bench process, which runs the store's client side. */
  readonly cpuUsPerOperation: number;
  /** CPU of the whole PostgreSQL server over the same window (PostgreSQL only). */
  readonly databaseCpuUsPerOperation?: number;
  /** Set when the store failed the measurement: what it threw. */
  readonly error?: string;
}

export interface BenchReport {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly wallSeconds: number;
  readonly machine: Record<string, string | number>;
  readonly settings: Record<string, unknown>;
  readonly reference: {
    readonly http: Array<LoadStats & { readonly cpuUsPerRequest: number }>;
    readonly express: Array<LoadStats & { readonly cpuUsPerRequest: number }>;
    /** Mean of the Express runs at the start and the end (the chart's yardstick); each scenario's ratio divides by its own besideExpressRps. */
    readonly expressRps: number;
    readonly httpRps: number;
  };
  readonly scenarios: ScenarioResult[];
  readonly scale: ScaleResult[];
  /** With --peers / --pg-peers: our event store beside Emmett's, driven from the bench process (bench/scenarios/peers.ts). */
  readonly peers?: readonly PeerRow[];
  readonly streams: ReadonlyArray<{ readonly aggregate: string; readonly priorOrders: number; readonly foldAllMs: number; readonly coldLoadMs: number; readonly coldLoadCpuMs: number; readonly tail: number; readonly usPerCommand: number }>;
  readonly goals: Array<{ readonly goal: string; readonly met: boolean; readonly measured: string }>;
}

const n0 = (n: number) => Math.round(n).toLocaleString('en-US');
const n2 = (n: number) => (Math.round(n * 100) / 100).toString();

export function markdown(report: BenchReport): string {
  const m = report.machine;
  const lines: string[] = [];
  lines.push(`# Eventmart benchmark — ${report.startedAt}`, '');
  lines.push(
    `Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB RAM, Node ${m.node}, Redis ${m.redis}, ${m.os}. ` +
      `Load: autocannon ${report.settings.autocannon}, ${report.settings.connections} connections, ${report.settings.warmupSeconds} s warm-up + ${report.settings.durationSeconds} s per scenario, in a separate process. ` +
      `Whole run: ${n0(report.wallSeconds)} s. Load average at start ${m.loadAverageAtStart}, at end ${m.loadAverageAtEnd}.`,
    '',
  );
  lines.push(
    `Reference servers (same run, same machine): bare Node \`http\` **${n0(report.reference.httpRps)} req/s**, ` +
      `Express 5 hello-world **${n0(report.reference.expressRps)} req/s** (mean of ${report.reference.express.length} runs: ${report.reference.express
        .map((s) => n0(s.rps))
        .join(', ')}); each scenario's ratio divides by an Express run of ${report.settings.besideSeconds} s made just before it, because this machine's speed drifts within minutes. Server CPU per request: http ${report.reference.http.map((s) => n0(s.cpuUsPerRequest)).join(' / ')} µs, ` +
      `Express ${report.reference.express.map((s) => n0(s.cpuUsPerRequest)).join(' / ')} µs.`,
    '',
  );
  const expressCpu = report.reference.express.reduce((sum, s) => sum + s.cpuUsPerRequest, 0) / report.reference.express.length;
  lines.push('| Scenario | req/s | p50 ms | p99 ms | errors | non-2xx (unexpected) | Express just before, req/s | × Express | goal | met | server CPU µs/req | PostgreSQL CPU µs/req | × Express by CPU | busy: machine / main thread % | checks |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|:-:|---:|---:|---:|---:|:-:|');
  for (const s of report.scenarios) {
    const checks = s.checks.every((c) => c.ok) ? `${s.checks.length}/${s.checks.length} ok` : `**${s.checks.filter((c) => !c.ok).length} FAILED**`;
    const goal = s.goal ? goalText(s.goal, '') : '';
    lines.push(
      `| ${s.title} | ${n0(s.stats.rps)} | ${n2(s.stats.latencyMs.p50)} | ${n2(s.stats.latencyMs.p99)} | ${s.stats.errors} | ${n0(s.stats.non2xx)} (${s.unexpected}) | ${s.besideExpressRps === undefined ? '' : n0(s.besideExpressRps)} | ${
        s.ratio === null ? '' : n2(s.ratio)
      } | ${goal} | ${s.met === undefined ? '' : s.met ? 'yes' : '**no**'} | ${n0(s.serverCpuUsPerRequest)} | ${s.databaseCpuUsPerRequest === undefined ? '' : n0(s.databaseCpuUsPerRequest)} | ${n2((s.besideExpressCpuUsPerRequest ?? expressCpu) / s.serverCpuUsPerRequest)} | ${
        s.busy ? `${n0(s.busy.machinePercent)} / ${n0(s.busy.mainThreadPercent)}` : ''
      } | ${checks} |`,
    );
  }
  // One per store when a run measured several (--store sqlite,postgres).
  for (const half of report.scenarios) {
    if (!half.halfLoad) continue;
    lines.push(
      '',
      `${half.title} at half load (steady ${n0(half.halfLoad.targetRps)} req/s, open loop): ${n0(half.halfLoad.rps)} req/s answered, ` +
        `p50 ${n2(half.halfLoad.latencyMs.p50)} ms, p99 ${n2(half.halfLoad.latencyMs.p99)} ms, max ${n2(half.halfLoad.latencyMs.max)} ms, non-2xx ${half.halfLoad.non2xx}, errors ${half.halfLoad.errors}.`,
    );
  }
  if (report.scale.length > 0) {
    lines.push('', '## Cost per command against log size', '');
    lines.push('CPU per request is the app\'s; on PostgreSQL the server\'s own follows after a `+`.', '');
    lines.push('| store | filler events | events at start | seed s | charge req/s | charge p99 ms | charge CPU µs/req | checkout req/s | checkout p99 ms | checkout CPU µs/req | peak RSS MiB | checks |');
    lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:-:|');
    const cpu = (load: ScaleLoad) => `${n0(load.cpuUsPerRequest)}${load.databaseCpuUsPerRequest === undefined ? '' : ` + ${n0(load.databaseCpuUsPerRequest)}`}`;
    for (const r of report.scale) {
      const checks = r.checks.every((c) => c.ok) ? `${r.checks.length}/${r.checks.length} ok` : `**${r.checks.filter((c) => !c.ok).length} FAILED**`;
      lines.push(
        `| ${r.store ?? 'sqlite'} | ${n0(r.fillerEvents)} | ${n0(r.eventsAtStart)} | ${n2(r.seedSeconds)} | ${n0(r.charge.stats.rps)} | ${n2(r.charge.stats.latencyMs.p99)} | ${cpu(r.charge)} | ${n0(
          r.checkout.stats.rps,
        )} | ${n2(r.checkout.stats.latencyMs.p99)} | ${cpu(r.checkout)} | ${n0(r.peakRssMiB)} | ${checks} |`,
      );
    }
  }
  if (report.streams.length > 0) {
    lines.push('', '## Cost per command against the aggregate’s own stream', '');
    lines.push(
      '| aggregate | orders already in its stream | first load, whole stream folded, ms | cold load after a restart, from its snapshot, ms | its CPU ms | events folded after the snapshot | µs per command (warm) |',
      '|---|---:|---:|---:|---:|---:|---:|',
    );
    for (const r of report.streams) {
      lines.push(`| ${r.aggregate} | ${n0(r.priorOrders)} | ${n2(r.foldAllMs)} | ${n2(r.coldLoadMs)} | ${n2(r.coldLoadCpuMs)} | ${n0(r.tail)} | ${n0(r.usPerCommand)} |`);
    }
  }
  const peers = (database: PeerRow['database']) => (report.peers ?? []).filter((r) => (r.database ?? 'sqlite') === database);
  if (peers('sqlite').length > 0) {
    lines.push('', '## Event stores side by side (in process, same disk)', '', '| measurement | store | per second | CPU µs per operation |', '|---|---|---:|---:|');
    for (const r of peers('sqlite')) lines.push(`| ${r.measurement} | ${r.store} | ${r.error ? `failed: ${r.error}` : n0(r.perSecond)} | ${r.error ? '' : n0(r.cpuUsPerOperation)} |`);
  }
  if (peers('postgres').length > 0) {
    lines.push(
      '',
      '## Event stores side by side on PostgreSQL (one cluster of the bench\'s own)',
      '',
      '| measurement | store | per second | bench process CPU µs per operation | PostgreSQL CPU µs per operation |',
      '|---|---|---:|---:|---:|',
    );
    for (const r of peers('postgres')) {
      lines.push(`| ${r.measurement} | ${r.store} | ${r.error ? `failed: ${r.error}` : n0(r.perSecond)} | ${r.error ? '' : n0(r.cpuUsPerOperation)} | ${r.error ? '' : n0(r.databaseCpuUsPerOperation ?? NaN)} |`);
    }
  }
  lines.push('', '## Goals', '', '| goal | measured | met |', '|---|---|:-:|');
  for (const g of report.goals) lines.push(`| ${g.goal} | ${g.measured} | ${g.met ? 'yes' : '**no**'} |`);
  lines.push('', '## Correctness checks', '');
  for (const s of report.scenarios) {
    for (const c of s.checks) lines.push(`- ${c.ok ? 'ok' : '**FAILED**'} — ${s.title}: ${c.name} (${c.detail})`);
  }
  for (const r of report.scale) {
    for (const c of r.checks) lines.push(`- ${c.ok ? 'ok' : '**FAILED**'} — log ${n0(r.fillerEvents)} filler (${r.store ?? 'sqlite'}): ${c.name} (${c.detail})`);
  }
  return lines.join('\n') + '\n';
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Requests/s per scenario beside both hello-worlds, with each scenario's goal marked. */
export function throughputSvg(report: BenchReport): string {
  const rows: Array<{ label: string; rps: number; kind: 'ref' | 'app'; goalRps?: number; note: string }> = [
    { label: 'Node http hello-world', rps: report.reference.httpRps, kind: 'ref', note: `${n2(report.reference.httpRps / report.reference.expressRps)}× Express` },
    { label: 'Express 5 hello-world', rps: report.reference.expressRps, kind: 'ref', note: '1× (the yardstick)' },
    ...report.scenarios.map((s) => ({
      label: s.title,
      rps: s.stats.rps,
      kind: 'app' as const,
      goalRps: s.goal?.ratio === undefined ? undefined : s.goal.ratio * (s.besideExpressRps ?? report.reference.expressRps),
      note: s.ratio === null ? '' : `${n2(s.ratio)}× Express${s.met === undefined ? '' : s.met ? ' — goal met' : ' — goal missed'}`,
    })),
  ];
  const width = 1040;
  const left = 330;
  const right = 250;
  const rowH = 30;
  const top = 56;
  const height = top + rows.length * rowH + 50;
  const step = niceStep(Math.max(...rows.map((r) => Math.max(r.rps, r.goalRps ?? 0))) / 4);
  const max = step * Math.ceil(Math.max(...rows.map((r) => Math.max(r.rps, r.goalRps ?? 0))) / step);
  const scale = (v: number) => ((width - left - right) * v) / max;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="13">`);
  parts.push(`<rect width="100%" height="100%" fill="#fff"/>`);
  parts.push(`<text x="${left}" y="24" font-size="16" font-weight="600">Requests per second (higher is better), same machine, same run</text>`);
  parts.push(`<text x="${left}" y="42" fill="#555">${esc(String(report.machine.cpuModel))}, ${report.machine.cores} cores, Node ${report.machine.node}; ▏= goal (ratio × Express)</text>`);
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    const w = Math.max(1, scale(r.rps));
    parts.push(`<text x="${left - 8}" y="${y + 19}" text-anchor="end">${esc(r.label)}</text>`);
    parts.push(`<rect x="${left}" y="${y + 5}" width="${w.toFixed(1)}" height="${rowH - 10}" fill="${r.kind === 'ref' ? '#9aa0a6' : '#1a73e8'}"/>`);
    if (r.goalRps !== undefined) {
      const gx = left + scale(r.goalRps);
      parts.push(`<line x1="${gx.toFixed(1)}" x2="${gx.toFixed(1)}" y1="${y + 2}" y2="${y + rowH - 2}" stroke="#d93025" stroke-width="2"/>`);
    }
    const labelX = left + Math.max(w, r.goalRps === undefined ? 0 : scale(r.goalRps)) + 6;
    parts.push(`<text x="${labelX.toFixed(1)}" y="${y + 19}">${n0(r.rps)}  <tspan fill="#555">${esc(r.note)}</tspan></text>`);
  });
  const axisY = top + rows.length * rowH + 6;
  parts.push(`<line x1="${left}" x2="${width - right}" y1="${axisY}" y2="${axisY}" stroke="#888"/>`);
  for (let v = 0; v <= max; v += step) {
    const x = left + scale(v);
    parts.push(`<line x1="${x}" x2="${x}" y1="${axisY}" y2="${axisY + 5}" stroke="#888"/><text x="${x}" y="${axisY + 20}" text-anchor="middle" fill="#555">${n0(v)}</text>`);
  }
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

/** 1, 2 or 5 times a power of ten: axis steps a reader can add up. */
function niceStep(rough: number): number {
  const power = 10 ** Math.floor(Math.log10(Math.max(rough, 1)));
  return [1, 2, 5, 10].map((m) => m * power).find((step) => step >= rough) ?? 10 * power;
}

/** Server CPU per command and requests/s against the number of events already in the log. */
export function scaleSvg(report: BenchReport): string {
  const runs = report.scale;
  const width = 980;
  const height = 360;
  const panelW = 360;
  const panels = [
    { title: 'Server CPU per command (µs, lower is better)', value: (r: ScaleResult, k: 'charge' | 'checkout') => r[k].cpuUsPerRequest, x0: 80 },
    { title: 'Requests per second (higher is better)', value: (r: ScaleResult, k: 'charge' | 'checkout') => r[k].stats.rps, x0: 570 },
  ];
  const colors = { charge: '#1a73e8', checkout: '#e37400' };
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="13">`);
  parts.push(`<rect width="100%" height="100%" fill="#fff"/>`);
  parts.push(`<text x="70" y="24" font-size="16" font-weight="600">Cost per command against events already in the log (x: log scale)</text>`);
  const top = 70;
  const plotH = 220;
  const xs = runs.map((r) => Math.log10(Math.max(1, r.eventsAtStart)));
  const xMin = Math.min(...xs) - 0.4;
  const xMax = Math.max(...xs) + 0.4;
  for (const panel of panels) {
    const values = runs.flatMap((r) => [panel.value(r, 'charge'), panel.value(r, 'checkout')]);
    const yStep = niceStep((Math.max(...values) * 1.15) / 4);
    const yMax = yStep * Math.ceil((Math.max(...values) * 1.15) / yStep);
    const px = (x: number) => panel.x0 + ((x - xMin) / (xMax - xMin)) * panelW;
    const py = (v: number) => top + plotH - (v / yMax) * plotH;
    parts.push(`<text x="${panel.x0}" y="${top - 16}" font-weight="600">${esc(panel.title)}</text>`);
    parts.push(`<line x1="${panel.x0}" x2="${panel.x0 + panelW}" y1="${top + plotH}" y2="${top + plotH}" stroke="#888"/>`);
    parts.push(`<line x1="${panel.x0}" x2="${panel.x0}" y1="${top}" y2="${top + plotH}" stroke="#888"/>`);
    for (let v = 0; v <= yMax; v += yStep) {
      parts.push(`<text x="${panel.x0 - 6}" y="${py(v) + 4}" text-anchor="end" fill="#555">${n0(v)}</text>`);
      parts.push(`<line x1="${panel.x0}" x2="${panel.x0 + panelW}" y1="${py(v)}" y2="${py(v)}" stroke="#eee"/>`);
    }
    runs.forEach((r, i) => {
      parts.push(`<text x="${px(xs[i])}" y="${top + plotH + 18}" text-anchor="middle" fill="#555">${n0(r.eventsAtStart)}</text>`);
    });
    for (const kind of ['charge', 'checkout'] as const) {
      const points = runs.map((r, i) => `${px(xs[i]).toFixed(1)},${py(panel.value(r, kind)).toFixed(1)}`);
      parts.push(`<polyline fill="none" stroke="${colors[kind]}" stroke-width="2" points="${points.join(' ')}"/>`);
      runs.forEach((r, i) => {
        const v = panel.value(r, kind);
        parts.push(`<circle cx="${px(xs[i]).toFixed(1)}" cy="${py(v).toFixed(1)}" r="4" fill="${colors[kind]}"/>`);
        parts.push(`<text x="${px(xs[i]).toFixed(1)}" y="${(py(v) - 9).toFixed(1)}" text-anchor="middle" fill="${colors[kind]}">${n0(v)}</text>`);
      });
    }
    parts.push(`<text x="${panel.x0 + panelW / 2}" y="${top + plotH + 38}" text-anchor="middle" fill="#555">events in the log when the run starts</text>`);
  }
  parts.push(`<rect x="70" y="${height - 22}" width="12" height="12" fill="${colors.charge}"/><text x="88" y="${height - 12}">POST /me/points/charge</text>`);
  parts.push(`<rect x="290" y="${height - 22}" width="12" height="12" fill="${colors.checkout}"/><text x="308" y="${height - 12}">POST /checkout (3 products + coupon)</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

/** `node dist/bench/lib/report.js`: draws bench/results/latest.md and the charts again from bench/results/latest.json. */
if (require.main === module) {
  const results = resolve(__dirname, '..', '..', '..', 'bench', 'results');
  const report = JSON.parse(readFileSync(join(results, 'latest.json'), 'utf8')) as BenchReport;
  writeFileSync(join(results, 'latest.md'), markdown(report));
  writeFileSync(join(results, 'throughput.svg'), throughputSvg(report));
  if (report.scale.length > 0) writeFileSync(join(results, 'scale.svg'), scaleSvg(report));
}
