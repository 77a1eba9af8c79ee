/**
 * Jest global set-up of the e2e project: the processes under test run the built app, so build it
 * (as `npm run build` does) once per run (only when an e2e test is selected). A build error stops the run here.
 */
const { execFileSync } = require('node:child_process');
const { join } = require('node:path');
const { copyConsoleAssets } = require('../../src/console/copy-assets');

module.exports = async function build() {
  const root = join(__dirname, '..', '..');
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  copyConsoleAssets();
};
