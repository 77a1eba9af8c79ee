import 'reflect-metadata';
import { compose } from '../composition/compose';
import { checkRanking } from './popular-check';
import { windowDays } from '../shared/time/window';
import { configOrExit } from '../shared/process';
import { createProjector } from '../../projections';
import { progress } from '../../projections/progress';
import { formatReport, verify } from './verify';

const usage = `usage:
  npm run replay -- --projection <name>   rebuild one read model from the log
  npm run replay -- --all                 rebuild every read model
  npm run verify                          check the log's invariants and every read model against a replay; exit code 1 on any difference
  npm run popular:check -- [--days N]     compare the popular-products ranking with a recount of the log`;

/** Operator commands over the same code the admin endpoints use. Exit code 1 when a check finds differences. */
async function main(argv: string[]) {
  const config = configOrExit();
  const composed = await compose({ ...config, LOG_LEVEL: 'warn' });
  const { services } = composed;
  const projector = await createProjector(services, composed.logger, 'cli');
  try {
    const [command, ...args] = argv;
    const option = (name: string) => {
      const at = args.indexOf(name);
      return at >= 0 ? args[at + 1] : undefined;
    };
    if (command === 'replay') {
      const names = args.includes('--all') ? projector.projections.map((p) => p.name) : [option('--projection')].filter((n): n is string => !!n);
      if (names.length === 0) throw new Error(usage);
      for (const name of names) {
        const started = Date.now();
        const bar = progress(`rebuilding ${name}`, await services.events.headPosition());
        await projector.rebuild(name, { onBatch: bar.advance });
        bar.done();
        process.stdout.write(`rebuilt ${name} in ${Date.now() - started} ms\n`);
      }
      return 0;
    }
    if (command === 'verify') {
      const report = await verify(services, { interactive: true });
      process.stdout.write(formatReport(report));
      return report.ok ? 0 : 1;
    }
    if (command === 'check-popular') {
      const days = Number(option('--days') ?? 30);
      await projector.catchUp('daily_sales');
      const differences = await checkRanking(services.events, services.ranking, windowDays(services.clock.now(), days, config.POPULAR_TIMEZONE), config.POPULAR_TIMEZONE);
      if (differences.length === 0) process.stdout.write(`popular products over ${days} days: consistent with the log\n`);
      for (const d of differences) process.stdout.write(`${d.productId}: ranking says ${d.live}, the log says ${d.recounted}\n`);
      return differences.length === 0 ? 0 : 1;
    }
    throw new Error(usage);
  } finally {
    await projector.stop();
    await composed.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  },
);
