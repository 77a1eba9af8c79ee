import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** What a throw-away PostgreSQL server is made and driven with. */
export const SERVER_PROGRAMS = ['initdb', 'pg_ctl', 'pg_isready', 'postgres'] as const;

const DEBIAN_ROOT = '/usr/lib/postgresql';

/**
 * The directory of the PostgreSQL server programs, for the suites and the bench that start a
 * server of their own: PG_BIN when set, else pg_config's, else the newest major version under
 * /usr/lib/postgresql (Debian's layout, where pg_config may belong to a client-only package).
 * Undefined when none holds them all.
 */
export function postgresBin(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const holdsAll = (dir: string) => SERVER_PROGRAMS.every((program) => existsSync(join(dir, program)));
  if (env.PG_BIN) return holdsAll(env.PG_BIN) ? env.PG_BIN : undefined;
  const candidates: string[] = [];
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim());
  } catch {
    // No pg_config: look where Debian puts the servers.
  }
  if (existsSync(DEBIAN_ROOT)) {
    const versions = readdirSync(DEBIAN_ROOT).filter((entry) => /^\d+$/.test(entry));
    candidates.push(...versions.sort((a, b) => Number(b) - Number(a)).map((version) => join(DEBIAN_ROOT, version, 'bin')));
  }
  return candidates.find(holdsAll);
}

/** e.g. "15.20", from the server program itself. */
export function postgresVersion(bin: string): string {
  const answer = execFileSync(join(bin, 'postgres'), ['--version']).toString();
  return answer.match(/\d+(\.\d+)*/)?.[0] ?? answer.trim();
}
