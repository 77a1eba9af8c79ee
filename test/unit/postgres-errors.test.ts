import { isConnectionError } from '../../src/shared/postgres';

/** What a request meets when PostgreSQL cannot be reached must become 503 STORE_UNAVAILABLE, never a 500 (the cluster suite's partition round met these). */
describe('PostgreSQL connection failures', () => {
  const withCode = (code: string) => Object.assign(new Error(code), { code });

  it.each(['ENETUNREACH', 'ENETDOWN', 'EHOSTUNREACH', 'EHOSTDOWN', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '08006', '57P01'])('counts %s as the database being unreachable', (code) => {
    expect(isConnectionError(withCode(code))).toBe(true);
  });

  it('counts the pool giving up waiting for a connection as the database being unreachable', () => {
    expect(isConnectionError(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(isConnectionError(new Error('Connection terminated unexpectedly'))).toBe(true);
  });

  it('leaves statement errors to their callers', () => {
    expect(isConnectionError(withCode('23505'))).toBe(false);
    expect(isConnectionError(withCode('42P01'))).toBe(false);
    expect(isConnectionError(new Error('syntax error at or near'))).toBe(false);
  });
});
