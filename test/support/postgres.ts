/**
 * Suites for the PostgreSQL adapters run against the local server (CI starts it), each in a
 * schema of its own that is dropped afterwards, so that runs and helpers sharing the server
 * never see each other's tables. A server that does not answer skips the suite loudly, and fails
 * it where it must run (CI=true, REQUIRE_EXTERNAL=true: see planMissing).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Postgres } from '../../src/shared/postgres';
import { describeCannotRun, planMissing } from './external';

export const TEST_POSTGRES_URL = process.env.POSTGRES_TEST_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A fresh schema name, `t15_` and random hex. */
export const newSchema = () => `t15_${randomBytes(6).toString('hex')}`;

/** Asked once, synchronously, while jest collects the suites: does the server answer? */
function postgresAnswers(url: string): boolean {
  const probe = `const { Client } = require('pg'); const c = new Client({ connectionString: process.argv[1], connectionTimeoutMillis: 3000 });
    c.connect().then(() => c.end()).then(() => process.exit(0), () => process.exit(1));`;
  try {
    execFileSync(process.execPath, ['-e', probe, url], { stdio: 'pipe', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

let answers: boolean | undefined;

/** Drops a schema and everything in it. */
export async function dropSchema(pg: Postgres): Promise<void> {
  await pg.query(`DROP SCHEMA IF EXISTS "${pg.schema}" CASCADE`);
}

/**
 * Declares `body` as a describe block with a Postgres over a fresh schema (`pg()`), dropped and
 * closed after the block. `opened` lists anything else the body opened on the schema.
 */
export function describePostgres(name: string, body: (pg: () => Postgres) => void): void {
  answers ??= postgresAnswers(TEST_POSTGRES_URL);
  if (!answers) {
    describeCannotRun(name, planMissing(name, `PostgreSQL does not answer at ${TEST_POSTGRES_URL} (set POSTGRES_TEST_URL)`, process.env));
    return;
  }
  describe(name, () => {
    let pg: Postgres | undefined;
    beforeAll(() => {
      pg = new Postgres({ url: TEST_POSTGRES_URL, schema: newSchema(), poolSize: 4 });
    });
    afterAll(async () => {
      if (!pg) return;
      await dropSchema(pg);
      await pg.close();
    });
    body(() => {
      if (!pg) throw new Error(`${name}: no connection`);
      return pg;
    });
  });
}
