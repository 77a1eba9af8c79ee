/**
 * The rooms and which way their doors open (docs/ARCHITECTURE.md, "Layout"). Checked by
 * test/unit/layers.test.ts in `npm test`; `npx depcruise src projections` shows the same.
 */
const FEATURES = '^(src/(write|read|data-platform|operations|composition|console)|projections)/';
const EDGES = '^src/(app|main)[.]ts$|^projections/main[.]ts$|^src/operations/cli[.]ts$|^src/data-platform/mock-main[.]ts$|^src/demo/main[.]ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'shared-imports-no-feature',
      comment: 'src/shared holds ports, adapters and plumbing; a feature it needs belongs in its own room, and the feature imports shared, not the other way round.',
      severity: 'error',
      from: { path: '^src/shared/' },
      to: { path: [FEATURES, EDGES] },
    },
    {
      name: 'write-imports-no-read',
      comment: 'The write side decides from the log alone; what both sides show lives in the write room (e.g. src/write/order/view.ts).',
      severity: 'error',
      from: { path: '^src/write/' },
      to: { path: '^src/read/' },
    },
    {
      name: 'write-imports-no-projections',
      comment: 'Projections follow the write side; a decider or command route that read a projection would depend on a rebuildable copy.',
      severity: 'error',
      from: { path: '^src/write/' },
      to: { path: '^projections/' },
    },
    {
      name: 'projections-import-no-read',
      comment: 'Projections build the read models the read routes query; the read routes may import projections, never the reverse.',
      severity: 'error',
      from: { path: '^projections/' },
      to: { path: '^src/read/' },
    },
    {
      name: 'write-and-projections-import-no-downstream-room',
      comment: 'The data platform and the operations tools consume the write side and the projections; nothing upstream imports them.',
      severity: 'error',
      from: { path: '^(src/write|projections)/' },
      to: { path: '^src/(data-platform|operations)/' },
    },
    {
      name: 'only-edges-import-data-platform',
      comment: 'The data-platform room is started by the composition edges (src/app.ts); other rooms do not reach into it.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/data-platform/', EDGES] },
      to: { path: '^src/data-platform/' },
    },
    {
      name: 'rooms-take-the-composition-root-as-types-only',
      comment: 'Route modules and projections receive their services; only the edges build them (compose).',
      severity: 'error',
      from: { path: FEATURES, pathNot: ['^src/composition/', EDGES] },
      to: { path: '^src/composition/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'demo-is-a-client',
      comment: 'The demo fills a server through its HTTP API and the generated client types; only its edge may start a server in-process.',
      severity: 'error',
      from: { path: '^src/demo/', pathNot: '^src/demo/main[.]ts$' },
      to: { path: '^(src|projections)/', pathNot: '^src/demo/' },
    },
    {
      name: 'nothing-imports-the-demo',
      comment: 'The demo is a client of the app, never part of it.',
      severity: 'error',
      from: { path: '^(src|projections)/', pathNot: '^src/demo/' },
      to: { path: '^src/demo/' },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that does not resolve hides its room from these rules.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
