import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** A server the bench started as its own child process (never anything it did not start). */
export interface ServerProcess {
  readonly name: string;
  readonly pid: number;
  readonly url: string;
  /** CPU time (user + system) the process has used so far, in milliseconds. */
  cpuMs(): number;
  /** The same for its main thread alone: the one JavaScript thread that every request goes through. */
  mainThreadCpuMs(): number;
  /** Resident memory now and its peak so far (VmRSS, VmHWM), in MiB. */
  memory(): { rssMiB: number; peakMiB: number };
  /** What the process wrote to stderr (kept for error reports). */
  stderr(): string;
  stop(): Promise<void>;
}

const CLOCK_TICKS_PER_SECOND = 100;

/** Busy and total CPU time of the whole machine so far, every core, in clock ticks (/proc/stat). */
export function machineTicks(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = fields[3] + fields[4]; // idle, iowait
  return { busy: total - idle, total };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

function procStatusKb(pid: number, field: string): number {
  const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  return match ? Number(match[1]) : 0;
}

/** CPU time of a process, or of one of its threads (the main thread's id is the process id). */
function procCpuMs(pid: number, tid?: number): number {
  const stat = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
}

/**
 * Starts `node <nodeArgs> <script>` with `env` on a free port and waits until `readyPath`
 * answers 200 (unless it is null). The child is stopped with SIGTERM (then SIGKILL after 10 s) by `stop`.
 */
export async function startNodeServer(options: {
  name: string;
  script: string;
  env: Record<string, string>;
  nodeArgs?: readonly string[];
  /** Answers 200 once ready; null for a process that serves no HTTP (ready once it runs). */
  readyPath?: string | null;
  timeoutMs?: number;
}): Promise<ServerProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(process.execPath, [...(options.nodeArgs ?? []), options.script], {
    env: { ...process.env, ...options.env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-20_000);
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const pid = child.pid!;

  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    if (exited) throw new Error(`${options.name} exited during start-up:\n${stderr}`);
    if (options.readyPath === null) break;
    try {
      const res = await fetch(url + (options.readyPath ?? '/'));
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${options.name} did not become ready in time:\n${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  return {
    name: options.name,
    pid,
    url,
    cpuMs: () => procCpuMs(pid),
    mainThreadCpuMs: () => procCpuMs(pid, pid),
    memory: () => ({ rssMiB: procStatusKb(pid, 'VmRSS') / 1024, peakMiB: procStatusKb(pid, 'VmHWM') / 1024 }),
    stderr: () => stderr,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (!exited) child.kill('SIGKILL');
      }, 10_000);
      await exit;
      clearTimeout(timer);
    },
  };
}
