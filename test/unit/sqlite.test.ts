import { existsSync, mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlite, SqliteDatabase } from '../../src/shared/sqlite';

/** SQLite's temporary files are unlinked at once; only the process's open descriptors show them. */
const openTempFiles = () =>
  readdirSync('/proc/self/fd')
    .map((fd) => {
      try {
        return readlinkSync(join('/proc/self/fd', fd));
      } catch {
        return '';
      }
    })
    .filter((target) => target.includes('etilqs_'));

const onLinux = existsSync('/proc/self/fd') ? describe : describe.skip;

onLinux('openSqlite', () => {
  let dir: string;
  let db: SqliteDatabase;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'eventmart-sqlite-'));
    db = openSqlite(join(dir, 'test.db'));
    db.exec('CREATE TABLE rows (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
    const insert = db.prepare('INSERT INTO rows (body) VALUES (?)');
    db.transaction(() => {
      for (let i = 0; i < 2_000; i += 1) insert.run('x'.repeat(1_000));
    })();
  });

  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps a savepoint undo record in memory, however large, instead of spilling it to a temporary file', () => {
    const during = db.transaction(() => {
      db.exec('SAVEPOINT one_write');
      // About 2 MB of pages changed inside the savepoint, far past SQLite's 64 KiB spill threshold.
      db.exec(`UPDATE rows SET body = '${'y'.repeat(1_000)}'`);
      const files = openTempFiles();
      db.exec('RELEASE one_write');
      return files;
    })();
    expect(db.prepare('SELECT count(*) AS n FROM rows WHERE body LIKE ?').get('y%')).toEqual({ n: 2_000 });
    expect(during).toEqual([]);
  });
});
