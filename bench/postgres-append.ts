/**
 * Rough comparison of the two ways to keep PostgreSQL log positions safe for followers under
 * concurrent writers (see src/shared/eventstore/postgres.ts), with WRITERS concurrent writers
 * each appending one event to a stream of its own, again and again, for SECONDS seconds:
 *
 *   lock+group  the adapter as built: one advisory lock per schema, appends group-committed;
 *   lock        the same function, one append per call from a pool of WRITERS connections;
 *   xid         no lock: each append its own transaction, the log read in (transaction id,
 *               sequence) order below pg_snapshot_xmin, as watermark-based stores do.
 *
 * Every variant ends with a follower reading the whole log after the writers stop, again until
 * it has every acknowledged event (the watermark hides those above the oldest running
 * transaction of the whole server). Run: npx tsc -p bench/tsconfig.json && node
 * dist/bench/postgres-append.js [url]. Schemas are created and dropped by the script.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { PostgresEventStore } from '../src/shared/eventstore/postgres';
import { Postgres } from '../src/shared/postgres';

const URL = process.argv[2] ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const WRITERS = Number(process.env.WRITERS ?? 50);
const SECONDS = Number(process.env.SECONDS ?? 5);

interface Figure {
  readonly variant: string;
  readonly appends: number;
  readonly perSecond: number;
  readonly followerSaw: number;
  /** From the writers' stop until the follower had every acknowledged event. */
  readonly catchUpMs: number;
}

/** Polls `read` (the whole log in the variant's order) until it holds every acknowledged id, for at most 30 s. */
async function caughtUp(acknowledged: readonly string[], read: () => Promise<Set<string>>): Promise<{ seen: Set<string>; ms: number }> {
  const started = Date.now();
  for (;;) {
    const seen = await read();
    const missing = acknowledged.filter((id) => !seen.has(id)).length;
    if (missing === 0) return { seen, ms: Date.now() - started };
    if (Date.now() - started > 30_000) throw new Error(`the follower still misses ${missing} acknowledged events after 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function drive(variant: string, append: (writer: number, revision: number) => Promise<string>, follow: () => Promise<Set<string>>): Promise<Figure> {
  const acknowledged: string[] = [];
  const until = Date.now() + SECONDS * 1000;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, writer) => {
      for (let revision = 0; Date.now() < until; revision += 1) acknowledged.push(await append(writer, revision));
    }),
  );
  const seconds = (Date.now() - started) / 1000;
  const { seen, ms } = await caughtUp(acknowledged, follow);
  return { variant, appends: acknowledged.length, perSecond: Math.round(acknowledged.length / seconds), followerSaw: seen.size, catchUpMs: ms };
}

async function lockVariants(): Promise<Figure[]> {
  const pg = new Postgres({ url: URL, schema: `bench_${randomBytes(4).toString('hex')}`, poolSize: WRITERS });
  try {
    const store = await PostgresEventStore.open(pg);
    const run = randomUUID();
    const followAll = async () => {
      const seen = new Set<string>();
      let cursor: string | null = null;
      for (;;) {
        const page = await store.readAll(cursor, 5000);
        if (page.length === 0) return seen;
        for (const event of page) seen.add(event.id);
        cursor = page[page.length - 1].position;
      }
    };
    const grouped = await drive(
      'lock+group',
      async (writer, revision) => {
        const id = randomUUID();
        await store.append([{ stream: `g-${run}-${writer}`, expectedRevision: revision === 0 ? 'no_stream' : BigInt(revision - 1), events: [{ id, type: 'Benched', data: { revision } }] }]);
        return id;
      },
      followAll,
    );
    const single = await drive(
      'lock',
      async (writer, revision) => {
        const id = randomUUID();
        const batch = [[{ s: `s-${run}-${writer}`, x: revision === 0 ? 'no_stream' : String(revision - 1), e: [{ i: id, t: 'Benched', d: JSON.stringify({ revision }), m: '{}' }] }]];
        await pg.query(`SELECT ${pg.table('append_batch')}($1::jsonb)`, [JSON.stringify(batch)], false);
        return id;
      },
      followAll,
    );
    await store.close();
    return [grouped, single];
  } finally {
    await pg.query(`DROP SCHEMA IF EXISTS "${pg.schema}" CASCADE`);
    await pg.close();
  }
}

async function watermarkVariant(): Promise<Figure> {
  const pg = new Postgres({ url: URL, schema: `bench_${randomBytes(4).toString('hex')}`, poolSize: WRITERS });
  const events = pg.table('events');
  try {
    await pg.migrate([
      {
        name: 'xid',
        sql: `CREATE TABLE ${events} (
          position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          tx xid8 NOT NULL DEFAULT pg_current_xact_id(),
          id text NOT NULL UNIQUE, stream text NOT NULL, revision bigint NOT NULL,
          type text NOT NULL, data json NOT NULL, metadata json NOT NULL,
          UNIQUE (stream, revision));
          CREATE INDEX ON ${events} (tx, position);`,
      },
    ]);
    const run = randomUUID();
    return await drive(
      'xid',
      async (writer, revision) => {
        const id = randomUUID();
        // The expected revision is the unique (stream, revision) key: a racing writer fails on it.
        await pg.query(
          `INSERT INTO ${events} (id, stream, revision, type, data, metadata) VALUES ($1, $2, $3, 'Benched', $4, '{}')`,
          [id, `x-${run}-${writer}`, revision, JSON.stringify({ revision })],
          false,
        );
        return id;
      },
      async () => {
        const seen = new Set<string>();
        let cursor = { tx: '0', position: '0' };
        for (;;) {
          const page = await pg.query<{ id: string; tx: string; position: string }>(
            `SELECT id, tx::text, position FROM ${events}
             WHERE (tx, position) > ($1::text::xid8, $2::bigint) AND tx < pg_snapshot_xmin(pg_current_snapshot())
             ORDER BY tx, position LIMIT 5000`,
            [cursor.tx, cursor.position],
          );
          if (page.length === 0) return seen;
          for (const row of page) seen.add(row.id);
          cursor = page[page.length - 1];
        }
      },
    );
  } finally {
    await pg.query(`DROP SCHEMA IF EXISTS "${pg.schema}" CASCADE`);
    await pg.close();
  }
}

async function main(): Promise<void> {
  const figures = [...(await lockVariants()), await watermarkVariant()];
  console.log(`${WRITERS} writers, ${SECONDS} s each`);
  console.log('| variant | appends | appends/s | follower saw | follower caught up after |');
  console.log('|---|---:|---:|---:|---:|');
  for (const f of figures) console.log(`| ${f.variant} | ${f.appends} | ${f.perSecond} | ${f.followerSaw} | ${f.catchUpMs} ms |`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
