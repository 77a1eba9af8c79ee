import { planExternal, planMissing } from '../support/external';
import { postgresBin } from '../support/postgres-bin';

const target = { name: 'KurrentDB event store', envVar: 'EVENTSTORE_URL' };
const noDocker = () => false;

describe('planExternal (when a server-backed contract suite runs, skips or fails)', () => {
  it('uses the URL from the environment without asking Docker', () => {
    const docker = jest.fn(() => true);
    expect(planExternal(target, { EVENTSTORE_URL: 'kurrentdb://x:2113', REQUIRE_EXTERNAL: 'true' }, docker)).toEqual({ kind: 'env', url: 'kurrentdb://x:2113' });
    expect(docker).not.toHaveBeenCalled();
  });

  it('starts a container when Docker answers', () => {
    expect(planExternal(target, {}, () => true)).toEqual({ kind: 'container' });
  });

  it('skips loudly without a server, and fails instead when REQUIRE_EXTERNAL=true', () => {
    expect(planExternal(target, {}, noDocker)).toMatchObject({ kind: 'skip', reason: expect.stringContaining('EVENTSTORE_URL') });
    expect(planExternal(target, { REQUIRE_EXTERNAL: 'false' }, noDocker)).toMatchObject({ kind: 'skip' });
    expect(planExternal(target, { REQUIRE_EXTERNAL: 'true' }, noDocker)).toMatchObject({ kind: 'fail', reason: expect.stringContaining('REQUIRE_EXTERNAL=true') });
  });

  it('refuses a value it does not know rather than guessing', () => {
    expect(() => planExternal(target, { REQUIRE_EXTERNAL: 'yes' }, noDocker)).toThrow('REQUIRE_EXTERNAL must be true or false');
  });
});

describe('planMissing (a suite whose prerequisites every CI machine has)', () => {
  it('is skipped loudly on a developer machine without them', () => {
    expect(planMissing('cluster', 'not running as root', {})).toEqual({ kind: 'skip', reason: 'cluster SKIPPED: not running as root' });
  });

  it('fails under CI=true as under REQUIRE_EXTERNAL=true: a CI that lost root or the binaries must not pass green', () => {
    expect(planMissing('cluster', 'no redis-server binary', { CI: 'true' })).toEqual({ kind: 'fail', reason: 'cluster cannot run (CI=true): no redis-server binary' });
    expect(planMissing('cluster', 'no redis-server binary', { REQUIRE_EXTERNAL: 'true' })).toMatchObject({ kind: 'fail', reason: expect.stringContaining('REQUIRE_EXTERNAL=true') });
  });
});

describe('postgresBin (where the PostgreSQL server programs are)', () => {
  it('takes PG_BIN only when it holds the server programs', () => {
    expect(postgresBin({ PG_BIN: '/nonexistent/bin' })).toBeUndefined();
    const found = postgresBin({});
    if (found) expect(postgresBin({ PG_BIN: found })).toBe(found);
  });
});
