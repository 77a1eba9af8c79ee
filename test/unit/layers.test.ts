import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/** Runs dependency-cruiser over the rooms with the repository's rules; its report names each broken rule and file pair. */
function cruise(): { status: number | null; report: string } {
  const bin = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
  const run = spawnSync(process.execPath, [bin, '--config', '.dependency-cruiser.cjs', '--output-type', 'err', 'src', 'projections'], { cwd: ROOT, encoding: 'utf8' });
  return { status: run.status, report: `${run.stdout}${run.stderr}` };
}

describe('the layers (.dependency-cruiser.cjs)', () => {
  it('hold: no import crosses a room the wrong way', () => {
    const { status, report } = cruise();
    // The report is the failure message: "error <rule>: <from> → <to>" per violation.
    expect(report).not.toMatch(/error /);
    expect(status).toBe(0);
  });
});
