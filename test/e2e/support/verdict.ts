import { Cluster } from './cluster';
import { Proc } from './processes';
import { Rush } from './rushes';

/**
 * The verdict after rushes: every answer agrees with the log, and `npm run verify` (the log's
 * invariants, every read model against a replay, the ranking against a recount) finds nothing.
 */
export async function expectSound(cluster: Cluster, rushes: readonly Rush[], strict: boolean): Promise<void> {
  await cluster.caughtUp();
  const log = await cluster.readLog();
  const violations = rushes.flatMap((rush) => rush.violations(log, strict).map((v) => `${rush.name}: ${v}`));
  // The first few tell the story; thousands would bury it.
  expect(violations.slice(0, 30)).toEqual([]);
  const verified = await cluster.verify();
  if (verified.code !== 0) throw new Error(`npm run verify exited ${verified.code}:\n${verified.output}`);
  expect(verified.output).toContain('verified: the read models and the ranking agree with the log');
}

/**
 * Kills (-9) processes at random moments while `work` runs and starts them again, round after
 * round until it settles. Each round takes one API process and, every other round, a projector.
 */
export async function withChaos(cluster: Cluster, work: Promise<unknown>): Promise<string[]> {
  let settled = false;
  const watched = work.finally(() => {
    settled = true;
  });
  const kills: string[] = [];
  for (let round = 0; !settled; round++) {
    await Promise.race([watched, new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 500))]).catch(() => undefined);
    if (settled) break;
    const victims: Proc[] = [cluster.apis[Math.floor(Math.random() * cluster.apis.length)]];
    if (round % 2 === 0) victims.push(cluster.projectors[Math.floor(Math.random() * cluster.projectors.length)]);
    await Promise.all(victims.map((victim) => victim.stop('SIGKILL')));
    kills.push(...victims.map((victim) => victim.name));
    await Promise.all(victims.map((victim) => cluster.launch(victim)));
  }
  await watched;
  return kills;
}

export function describeRushes(rushes: readonly Rush[]): string {
  return rushes.map((rush) => `${rush.name}: ${JSON.stringify(rush.tally())}`).join('\n');
}

/** A server that cannot do the work says so with a 503 problem: never a 500, never a wrong answer. */
export function expectNoServerErrorsBut503(rushes: readonly Rush[]): void {
  const errors = rushes.flatMap((rush) =>
    Object.entries(rush.tally())
      .filter(([label]) => /^5\d\d/.test(label) && !label.startsWith('503'))
      .map(([label, count]) => `${rush.name}: ${count} × ${label}`),
  );
  expect(errors).toEqual([]);
}
