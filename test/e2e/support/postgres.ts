import { execFile, execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { postgresBin, SERVER_PROGRAMS } from '../../support/postgres-bin';
import { PREFIX } from './hosts';
import { Place } from './processes';

const PG_BIN = postgresBin();
const run = promisify(execFile);

/** The server programs' directory; only called once postgresUnavailable said there is one. */
const bin = (program: string) => join(PG_BIN!, program);

/** Why a throw-away PostgreSQL cannot be made here, or undefined when it can. */
export function postgresUnavailable(): string | undefined {
  if (!PG_BIN) {
    const where = process.env.PG_BIN ? `in PG_BIN=${process.env.PG_BIN}` : 'in PG_BIN, pg_config --bindir or /usr/lib/postgresql/*/bin';
    return `no PostgreSQL server programs (${SERVER_PROGRAMS.join(', ')}) ${where}`;
  }
  try {
    execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
  } catch {
    return 'no `postgres` user to run a throw-away PostgreSQL as';
  }
  return undefined;
}

/**
 * A PostgreSQL server of our own, in a temporary directory, on `place`: to stop with
 * `-m immediate` (a crash: recovery replays the WAL) and start again under load without
 * touching the shared server on 127.0.0.1:5432.
 *
 * fsync is off (a crash of the process, not of the machine, is what we test: committed WAL is in
 * the page cache), synchronous_commit stays on so that an acknowledged commit survives `immediate`.
 */
export class ThrowAwayPostgres {
  private readonly onExit = () => this.destroySync();
  private constructor(
    readonly place: Place,
    readonly port: number,
    private readonly dir: string,
  ) {
    process.on('exit', this.onExit);
  }

  get url(): string {
    return `postgres://postgres@${this.place.address}:${this.port}/postgres`;
  }

  private get data(): string {
    return join(this.dir, 'data');
  }

  /** The server's own log, for the failure message of a test. */
  get log(): string {
    return existsSync(join(this.dir, 'server.log')) ? readFileSync(join(this.dir, 'server.log'), 'utf8') : '';
  }

  static async create(place: Place): Promise<ThrowAwayPostgres> {
    const dir = mkdtempSync(join(tmpdir(), `${PREFIX}pg-`));
    execFileSync('chown', ['postgres:postgres', dir]);
    const server = new ThrowAwayPostgres(place, await place.port(5432), dir);
    await run('runuser', ['-u', 'postgres', '--', bin('initdb'), '-D', server.data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
    appendFileSync(
      join(server.data, 'postgresql.conf'),
      [
        `listen_addresses = '${place.address}'`,
        `port = ${server.port}`,
        `unix_socket_directories = '${dir}'`,
        'max_connections = 300',
        'fsync = off',
        'full_page_writes = off',
        "log_min_messages = 'warning'",
        '',
      ].join('\n'),
    );
    // Trust from the hosts on its own subnet (and loopback, which initdb already trusts).
    appendFileSync(join(server.data, 'pg_hba.conf'), 'host all all samenet trust\n');
    await server.start();
    return server;
  }

  /** Starts the server and waits (pg_ctl -w) until it accepts connections. */
  async start(): Promise<void> {
    await this.pgCtl('-l', join(this.dir, 'server.log'), '-t', '60', 'start');
  }

  /** `immediate` is a crash (no checkpoint, clients cut off); `fast` a clean shutdown. */
  async stop(mode: 'immediate' | 'fast' = 'immediate'): Promise<void> {
    await this.pgCtl('-m', mode, 'stop');
  }

  /** Whether it answers on its address, asked from `from` (another host, or loopback). */
  async answers(from: Place): Promise<boolean> {
    const [command, args] = from.wrap(bin('pg_isready'), ['-q', '-h', this.place.address, '-p', String(this.port), '-t', '2']);
    return run(command, args).then(
      () => true,
      () => false,
    );
  }

  async destroy(): Promise<void> {
    await this.stop().catch(() => undefined);
    this.destroySync();
  }

  private destroySync(): void {
    process.off('exit', this.onExit);
    try {
      execFileSync('runuser', ['-u', 'postgres', '--', bin('pg_ctl'), '-D', this.data, '-m', 'immediate', 'stop'], { stdio: 'ignore' });
    } catch {
      // Not running.
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async pgCtl(...args: string[]): Promise<void> {
    // Started through its place: a postmaster forked on a host stays on that host's network.
    const [command, wrapped] = this.place.wrap('runuser', ['-u', 'postgres', '--', bin('pg_ctl'), '-D', this.data, '-w', ...args]);
    try {
      await run(command, wrapped);
    } catch (error) {
      throw new Error(`pg_ctl ${args.join(' ')} failed: ${(error as Error).message}\n${this.log}`);
    }
  }
}
