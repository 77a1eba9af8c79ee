/**
 * tsc compiles only TypeScript, so `npm run build` runs this after it: the console's static
 * files go next to the compiled routes.js that serves them (dist/src/console/public). Plain
 * Node, so the build stays portable (no cp -r).
 */
const { cpSync, rmSync } = require('node:fs');
const { join } = require('node:path');

function copyConsoleAssets() {
  const target = join(__dirname, '..', '..', 'dist', 'src', 'console', 'public');
  rmSync(target, { recursive: true, force: true });
  cpSync(join(__dirname, 'public'), target, { recursive: true });
}

module.exports = { copyConsoleAssets };
if (require.main === module) copyConsoleAssets();
