import pino from 'pino';
import { checkRanking, RankingDifference } from './popular-check';
import { windowDays } from '../shared/time/window';
import type { AppServices } from '../composition/services';
import { Doc, DocumentStore } from '../shared/documents/port';
import { SqliteDocumentStore } from '../shared/documents/sqlite';
import { allProjections } from '../../projections';
import { checkLog, LogCheck } from './invariants';
import { progress } from '../../projections/progress';
import { Projection } from '../../projections/projection';
import { Projector } from '../../projections/runtime';

export interface ReadModelCheck {
  readonly projection: string;
  /** The live checkpoint the replay was stopped at, so both stand at the same point of the log. */
  readonly checkpoint: string | null;
  readonly documents: number;
  /** One line per document that differs, is missing or is extra; empty when the read model equals the replay. */
  readonly differences: readonly string[];
}

export interface VerifyReport {
  readonly log: LogCheck;
  readonly readModels: readonly ReadModelCheck[];
  readonly ranking: { readonly days: number; readonly differences: readonly RankingDifference[] };
  readonly ok: boolean;
}

/** A live read model that keeps moving while it is read is read again, this many times at most. */
const SNAPSHOT_ATTEMPTS = 5;
const SHOWN_PER_PROJECTION = 20;
const RANKING_DAYS = 30;

/**
 * `npm run verify`: the log's invariants, every read model against a fresh replay of the log
 * into a scratch store (stopped at the live checkpoint), and the popular-products ranking
 * against a recount. Reads only; safe beside running instances.
 */
export async function verify(services: AppServices, options: { readonly interactive?: boolean } = {}): Promise<VerifyReport> {
  const { events, documents, config } = services;
  const show = (label: string, head: string | null) => (options.interactive ? progress(label, head) : undefined);
  const head = await events.headPosition();

  const logProgress = show('log invariants', head);
  const log = await checkLog(events, { balanceCap: config.POINTS_BALANCE_CAP }, logProgress?.advance);
  logProgress?.done();

  const scratch = new SqliteDocumentStore(':memory:');
  try {
    // The hooks are off in the replay, so the services they would reach are never touched.
    const replayed = allProjections({ ...services, documents: scratch });
    const replayer = new Projector(events, scratch, replayed, pino({ level: 'silent' }), { hooks: false });
    await replayer.init();
    const readModels: ReadModelCheck[] = [];
    for (const projection of replayed) {
      readModels.push(await compareOne(projection, documents, scratch, replayer, show));
    }
    const days = windowDays(services.clock.now(), RANKING_DAYS, config.POPULAR_TIMEZONE);
    const ranking = { days: RANKING_DAYS, differences: await checkRanking(events, services.ranking, days, config.POPULAR_TIMEZONE) };
    const ok = log.problems.length === 0 && readModels.every((r) => r.differences.length === 0) && ranking.differences.length === 0;
    return { log, readModels, ranking, ok };
  } finally {
    await scratch.close();
  }
}

async function compareOne(
  projection: Projection,
  live: DocumentStore,
  scratch: DocumentStore,
  replayer: Projector,
  show: (label: string, head: string | null) => ReturnType<typeof progress> | undefined,
): Promise<ReadModelCheck> {
  const collections = projection.collections.map((c) => c.name);
  for (let attempt = 1; ; attempt++) {
    const checkpoint = await live.getCheckpoint(projection.name);
    const liveDocs = await dump(live, collections);
    const moved = (await live.getCheckpoint(projection.name)) !== checkpoint;
    if (moved && attempt < SNAPSHOT_ATTEMPTS) continue;
    const bar = show(`replaying ${projection.name}`, checkpoint);
    if (checkpoint !== null) await replayer.rebuild(projection.name, { until: checkpoint, onBatch: bar?.advance });
    bar?.done();
    const differences = moved
      ? [`the live read model kept moving while it was read (${SNAPSHOT_ATTEMPTS} attempts): verify again when writes pause`]
      : diff(projection, liveDocs, await dump(scratch, collections));
    return { projection: projection.name, checkpoint, documents: liveDocs.size, differences };
  }
}

/** Every document of the collections, keyed by collection and id. */
async function dump(documents: DocumentStore, collections: readonly string[]): Promise<Map<string, { collection: string; doc: Doc }>> {
  const all = new Map<string, { collection: string; doc: Doc }>();
  for (const collection of collections) {
    let cursor: string | null = null;
    do {
      const page: { items: Doc[]; nextCursor: string | null } = await documents.find<Doc>(collection, { limit: 1000, cursor });
      for (const doc of page.items) all.set(`${collection}/${doc.id}`, { collection, doc });
      cursor = page.nextCursor;
    } while (cursor);
  }
  return all;
}

function diff(projection: Projection, live: Map<string, { collection: string; doc: Doc }>, replayed: Map<string, { collection: string; doc: Doc }>): string[] {
  const comparable = (entry: { collection: string; doc: Doc }) => stable(projection.comparable ? projection.comparable(entry.collection, entry.doc) : entry.doc);
  const out: string[] = [];
  for (const [key, entry] of live) {
    const other = replayed.get(key);
    if (!other) out.push(`${key}: in the read model, not in the replay: ${comparable(entry)}`);
    else if (comparable(entry) !== comparable(other)) out.push(`${key}: read model ${comparable(entry)}, replay ${comparable(other)}`);
  }
  for (const [key, entry] of replayed) if (!live.has(key)) out.push(`${key}: missing from the read model; the replay has ${comparable(entry)}`);
  return out;
}

/** JSON with sorted keys, so documents equal in content compare equal whatever their key order. */
function stable(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

/** The report as `npm run verify` prints it: one line per check, then what differs. */
export function formatReport(report: VerifyReport): string {
  const lines: string[] = [];
  const mark = (ok: boolean) => (ok ? 'ok  ' : 'FAIL');
  const { log } = report;
  lines.push(
    `${mark(log.problems.length === 0)} log: ${log.events} events; ${log.wallets} wallets, ${log.products} products, ${log.coupons} coupons (${log.userCoupons} user coupon streams), ${log.orders} orders` +
      (log.problems.length === 0 ? ': balances and stock never negative and equal to their events, no charge past the balance cap, coupons within quantity and one per user, each used by one order at a time, no order paid twice' : `: ${log.problems.length} problems`),
  );
  lines.push(...log.problems.slice(0, 50).map((p) => `       ${p}`));
  if (log.problems.length > 50) lines.push(`       … and ${log.problems.length - 50} more`);
  for (const r of report.readModels) {
    lines.push(`${mark(r.differences.length === 0)} read model ${r.projection} at ${r.checkpoint ?? 'the start'}: ${r.documents} documents${r.differences.length === 0 ? ' equal to a replay of the log' : `, ${r.differences.length} differ from a replay of the log`}`);
    lines.push(...r.differences.slice(0, SHOWN_PER_PROJECTION).map((d) => `       ${d}`));
    if (r.differences.length > SHOWN_PER_PROJECTION) lines.push(`       … and ${r.differences.length - SHOWN_PER_PROJECTION} more`);
  }
  const { ranking } = report;
  lines.push(`${mark(ranking.differences.length === 0)} popular-products ranking over ${ranking.days} days${ranking.differences.length === 0 ? ' equals a recount of the log' : ''}`);
  lines.push(...ranking.differences.map((d) => `       ${d.productId}: ranking says ${d.live}, the log says ${d.recounted}`));
  lines.push(report.ok ? 'verified: the read models and the ranking agree with the log' : 'verification FAILED');
  return `${lines.join('\n')}\n`;
}
