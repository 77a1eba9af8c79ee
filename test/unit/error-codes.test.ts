import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DOMAIN_ERROR_CODES } from '../../src/shared/domain/errors';
import { HTTP_ERROR_CODES } from '../../src/shared/http/problem';

/** Error codes are public: every one the code can answer is in the contract. */
describe('error codes', () => {
  const contract = readFileSync(join(__dirname, '../../docs/API.md'), 'utf8');

  it.each([...DOMAIN_ERROR_CODES, ...HTTP_ERROR_CODES])('%s is in docs/API.md', (code) => {
    expect(contract).toMatch(new RegExp(`\`${code}\``));
  });

  it('lists each code once', () => {
    const all = [...DOMAIN_ERROR_CODES, ...HTTP_ERROR_CODES];
    expect(all.length).toBe(new Set(all).size);
  });
});
