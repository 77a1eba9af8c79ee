import { errorToProblem } from '../../src/shared/http/errors';
import { DatabaseUnavailable, outageOf } from '../../src/shared/postgres';

/**
 * PostgreSQL failing while serving must become 503 STORE_UNAVAILABLE, never a 500 (the cluster
 * suite's partition round met the network codes); what kind of outage it is decides the retry.
 */
describe('PostgreSQL failures', () => {
  const withCode = (code: string) => Object.assign(new Error(code), { code });

  it.each([
    ['ENETUNREACH', 'a host cut off'],
    ['ENETDOWN', 'a host cut off'],
    ['EHOSTUNREACH', 'no route to the server'],
    ['EHOSTDOWN', 'the server host down'],
    ['ECONNREFUSED', 'nothing listening'],
    ['ECONNRESET', 'the connection reset'],
    ['ETIMEDOUT', 'a connect that timed out'],
    ['08006', 'connection_failure'],
    ['08001', 'sqlclient_unable_to_establish_sqlconnection'],
    ['57P01', 'admin_shutdown'],
    ['57P02', 'crash_shutdown'],
    ['57P03', 'cannot_connect_now (starting up, in recovery)'],
    ['57P05', 'idle_session_timeout'],
    ['25P03', 'idle_in_transaction_session_timeout'],
  ])('counts %s (%s) as the connection lost: the statement may have run', (code) => {
    expect(outageOf(withCode(code))).toBe('lost');
  });

  it.each([
    ['53300', 'too_many_connections'],
    ['53100', 'disk_full'],
    ['53200', 'out_of_memory'],
    ['40001', 'serialization_failure'],
    ['40P01', 'deadlock_detected'],
    ['55P03', 'lock_not_available'],
    ['58030', 'io_error'],
  ])('counts %s (%s) as refused: nothing of the statement was applied', (code) => {
    expect(outageOf(withCode(code))).toBe('refused');
  });

  it('counts a statement timeout (57014) and our own query timeout as timeouts, which nobody retries', () => {
    expect(outageOf(withCode('57014'))).toBe('timeout');
    expect(outageOf(new Error('Query read timeout'))).toBe('timeout');
  });

  it('counts the pool giving up waiting for a connection as the connection lost', () => {
    expect(outageOf(new Error('timeout exceeded when trying to connect'))).toBe('lost');
    expect(outageOf(new Error('Connection terminated unexpectedly'))).toBe('lost');
  });

  it('leaves answers about the statement to their callers', () => {
    for (const code of ['23505', '23514', '42P01', '42601', '22P02', '40002', 'XX000']) expect([code, outageOf(withCode(code))]).toEqual([code, null]);
    expect(outageOf(new Error('syntax error at or near'))).toBeNull();
    expect(outageOf('a string')).toBeNull();
  });

  it.each(['lost', 'refused', 'timeout'] as const)('answers a %s database with 503 STORE_UNAVAILABLE and Retry-After', (outage) => {
    expect(errorToProblem(new DatabaseUnavailable(new Error('x'), outage))).toMatchObject({ status: 503, body: { code: 'STORE_UNAVAILABLE' }, headers: { 'Retry-After': '1' } });
  });
});
