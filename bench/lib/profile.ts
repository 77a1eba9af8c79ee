import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const where = (url: string) => {
  if (!url) return '';
  const pkg = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (pkg) return `npm:${pkg[1]}`;
  return url.replace(/^file:\/\//, '').replace(/.*\/dist\//, 'dist/');
};

/**
 * A `node --cpu-prof` profile as text: where the samples fell, by function (self time) and by
 * module (inclusive: any frame of the module on the stack), idle time excluded from the shares.
 */
export function summariseProfile(file: string, top = 40): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const idle = [...self].filter(([id]) => byId.get(id)!.callFrame.functionName === '(idle)').reduce((sum, [, t]) => sum + t, 0);
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const busy = total - idle;

  const fnSelf = new Map<string, number>();
  const fnIncl = new Map<string, number>();
  const moduleIncl = new Map<string, number>();
  for (const [id, t] of self) {
    const node = byId.get(id)!;
    if (node.callFrame.functionName === '(idle)') continue;
    const key = `${node.callFrame.functionName || '(anonymous)'}  ${where(node.callFrame.url)}${node.callFrame.url ? `:${node.callFrame.lineNumber + 1}` : ''}`;
    fnSelf.set(key, (fnSelf.get(key) ?? 0) + t);
    const seenFn = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const frame = byId.get(cur)!.callFrame;
      if (!frame.url) continue;
      const k = `${frame.functionName || '(anonymous)'}  ${where(frame.url)}:${frame.lineNumber + 1}`;
      if (!seenFn.has(k)) {
        seenFn.add(k);
        fnIncl.set(k, (fnIncl.get(k) ?? 0) + t);
      }
    }
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const w = where(byId.get(cur)!.callFrame.url) || byId.get(cur)!.callFrame.functionName;
      if (w && !seen.has(w)) {
        seen.add(w);
        moduleIncl.set(w, (moduleIncl.get(w) ?? 0) + t);
      }
    }
  }
  const pct = (t: number) => `${((100 * t) / busy).toFixed(1).padStart(5)}%`;
  const lines = [
    `profile ${file}`,
    `sampled ${(total / 1e6).toFixed(1)} s, busy ${(busy / 1e6).toFixed(1)} s (shares below are of busy time)`,
    '',
    'self time by function:',
    ...[...fnSelf].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, t]) => `${pct(t)}  ${k}`),
    '',
    'inclusive time by function (application code and packages):',
    ...[...fnIncl].filter(([k]) => !k.includes('node:')).sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, t]) => `${pct(t)}  ${k}`),
    '',
    'inclusive time by module:',
    ...[...moduleIncl].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, t]) => `${pct(t)}  ${k}`),
  ];
  return lines.join('\n') + '\n';
}

if (require.main === module) {
  for (const file of process.argv.slice(2)) process.stdout.write(summariseProfile(file) + '\n');
}
