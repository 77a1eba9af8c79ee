/**
 * A PostgreSQL cluster of the bench's own (`--store postgres`): initdb + pg_ctl as user
 * postgres, in a temporary directory, on a free port, stopped and removed at the end. Its own
 * so that its processes can be found (the postmaster and its children) and their CPU counted
 * from /proc like the app's; the shared server on 5432 serves everybody and cannot be attributed.
 */
import { execFile, execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { postgresBin, postgresVersion } from '../../test/support/postgres-bin';
import { freePort } from './processes';

const run = promisify(execFile);
const CLOCK_TICKS_PER_SECOND = 100;

/** utime + stime (+ the reaped children's cutime + cstime), in ticks, from /proc/<pid>/stat. */
function ticks(pid: number, withReaped: boolean): { ppid: number; ticks: number } | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null; // exited meanwhile
  }
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const own = Number(f[11]) + Number(f[12]);
  return { ppid: Number(f[1]), ticks: withReaped ? own + Number(f[13]) + Number(f[14]) : own };
}

export class BenchPostgres {
  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly bin: string,
  ) {}

  /** e.g. "15.20". */
  get version(): string {
    return postgresVersion(this.bin);
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  private get data(): string {
    return join(this.dir, 'data');
  }

  static async create(): Promise<BenchPostgres> {
    const bin = postgresBin();
    if (!bin) throw new Error('--store postgres: no PostgreSQL server programs in PG_BIN, pg_config --bindir or /usr/lib/postgresql/*/bin');
    const dir = mkdtempSync(join(tmpdir(), 'eventmart-bench-pg-'));
    try {
      chmodSync(dir, 0o755);
      execFileSync('chown', ['postgres:postgres', dir]);
      const data = join(dir, 'data');
      await run('runuser', ['-u', 'postgres', '--', join(bin, 'initdb'), '-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C']);
      // Durability as shipped (fsync and synchronous_commit on), as the SQLite side keeps FULL.
      appendFileSync(join(data, 'postgresql.conf'), ['max_connections = 200', 'shared_buffers = 256MB', "log_min_messages = 'warning'", ''].join('\n'));
      // A free port can be taken by someone else before the postmaster binds it: try another.
      for (let attempt = 1; ; attempt += 1) {
        const server = new BenchPostgres(await freePort(), dir, bin);
        try {
          await server.pgCtl('-l', join(dir, 'server.log'), '-t', '60', '-o', `-p ${server.port} -k ${dir} -c listen_addresses=127.0.0.1`, 'start');
          return server;
        } catch (error) {
          if (attempt >= 5 || !String(error).includes('Address already in use')) throw error;
        }
      }
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  private postmasterPid(): number {
    return Number(readFileSync(join(this.data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  }

  /**
   * CPU (user + system) of the server so far, in ms: the postmaster, the backends that have
   * exited (reaped by it: its cutime/cstime) and the live children (backends, checkpointer,
   * WAL writer, autovacuum).
   */
  cpuMs(): number {
    const postmaster = this.postmasterPid();
    let total = ticks(postmaster, true)?.ticks ?? 0;
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const t = ticks(Number(entry), false);
      if (t && t.ppid === postmaster) total += t.ticks;
    }
    return (total * 1000) / CLOCK_TICKS_PER_SECOND;
  }

  async destroy(): Promise<void> {
    await this.pgCtl('-m', 'fast', 'stop').catch(() => this.pgCtl('-m', 'immediate', 'stop').catch(() => undefined));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async pgCtl(...args: string[]): Promise<void> {
    try {
      await run('runuser', ['-u', 'postgres', '--', join(this.bin, 'pg_ctl'), '-D', this.data, '-w', ...args]);
    } catch (error) {
      let log = '';
      try {
        log = readFileSync(join(this.dir, 'server.log'), 'utf8').slice(-2000);
      } catch {
        // no log yet
      }
      throw new Error(`pg_ctl ${args.join(' ')} failed: ${(error as Error).message}\n${log}`);
    }
  }
}
