import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import ts from 'typescript';
import { CouponTerms } from '../../src/write/coupon/commands';
import { couponTermProblems, couponTermsOf, CouponTermsInput } from '../../src/write/coupon/term-rules';

const root = join(__dirname, '..', '..');
const SOURCE = 'src/write/coupon/term-rules.ts';
/** What the console's coupon form imports; `npm run console:rules` writes it. */
const BROWSER_COPY = 'src/console/public/coupon-term-rules.js';

/** The source with its types stripped, as an ES module a browser loads without a bundler. */
function browserModule(): string {
  const { outputText } = ts.transpileModule(readFileSync(join(root, SOURCE), 'utf8'), {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022 },
  });
  return `// Generated from ${SOURCE} by \`npm run console:rules\`: edit that file, not this one.\n${outputText}`;
}

type Rules = { couponTermProblems: typeof couponTermProblems; couponTermsOf: typeof couponTermsOf };

/** The browser copy run where only the language's own globals exist: no require, no process, no imports. */
function loadBrowserCopy(): Rules {
  const script = readFileSync(join(root, BROWSER_COPY), 'utf8').replace(/^export /gm, '');
  return runInNewContext(`${script}\n;({ couponTermProblems, couponTermsOf })`, {}) as Rules;
}

const NOW = '2030-06-01T00:00:00.000Z';
const valid: CouponTermsInput = { name: 'Spring sale', discount: { type: 'PERCENT', percent: 10, maxDiscount: 3_000 }, totalQuantity: 100 };

/** One valid set of terms, and one for each kind of problem the rules know, with the problem it must raise. */
const CASES: readonly [string, CouponTermsInput, string | null][] = [
  ['valid percent', valid, null],
  ['valid fixed, dated', { ...valid, discount: { type: 'FIXED', amount: 5_000 }, minOrderAmount: 30_000, issueStartsAt: NOW, issueEndsAt: '2030-07-01T00:00:00.000Z', validUntil: '2030-08-01T00:00:00.000Z' }, null],
  ['blank name', { ...valid, name: '   ' }, 'name must be 1..100 characters'],
  ['long name', { ...valid, name: 'x'.repeat(101) }, 'name must be 1..100 characters'],
  ['fixed amount 0', { ...valid, discount: { type: 'FIXED', amount: 0 } }, 'discount.amount must be a positive whole amount'],
  ['percent 101', { ...valid, discount: { type: 'PERCENT', percent: 101 } }, 'discount.percent must be a whole number 1..100'],
  ['fractional cap', { ...valid, discount: { type: 'PERCENT', percent: 10, maxDiscount: 2.5 } }, 'discount.maxDiscount must be a positive whole amount'],
  ['negative minimum', { ...valid, minOrderAmount: -1 }, 'minOrderAmount must be a non-negative whole amount'],
  ['no quantity', { ...valid, totalQuantity: 0 }, 'totalQuantity must be 1..1000000'],
  ['too many days', { ...valid, validDays: 3651 }, 'validDays must be 1..3650'],
  ['both validities', { ...valid, validDays: 7, validUntil: '2030-08-01T00:00:00.000Z' }, 'give validUntil or validDays, not both'],
  ['unreadable date', { ...valid, issueEndsAt: 'next Tuesday' }, 'issueEndsAt must be an ISO-8601 instant'],
  ['window backwards', { ...valid, issueStartsAt: '2030-07-02T00:00:00.000Z', issueEndsAt: '2030-07-01T00:00:00.000Z' }, 'issueEndsAt must be after issueStartsAt'],
  ['window over', { ...valid, issueEndsAt: '2030-05-01T00:00:00.000Z' }, 'issueEndsAt must be in the future'],
  ['validity before the window', { ...valid, issueStartsAt: '2030-07-01T00:00:00.000Z', validUntil: '2030-06-15T00:00:00.000Z' }, 'validUntil must be in the future and after issueStartsAt'],
];

describe("the coupon terms' rules, shared by the decider and the console", () => {
  it('are served to the console as the decider\'s own source with its types stripped (npm run console:rules rewrites it)', () => {
    const fresh = browserModule();
    if (process.env.UPDATE_CONSOLE_RULES === 'true') writeFileSync(join(root, BROWSER_COPY), fresh);
    const committed = readFileSync(join(root, BROWSER_COPY), 'utf8');
    if (committed !== fresh) throw new Error(`${BROWSER_COPY} is not ${SOURCE}: run \`npm run console:rules\` and commit it`);
    expect(committed).not.toMatch(/^\s*import\b|\brequire\(/m);
  });

  it.each(CASES)('%s: the browser copy finds what the decider finds', (_name, input, problem) => {
    const browser = loadBrowserCopy();
    const terms: CouponTerms = couponTermsOf(input);
    const found = couponTermProblems(terms, NOW);
    expect(found).toEqual(problem === null ? [] : [problem]);
    // Through JSON, as the page hands the form's terms over.
    expect(browser.couponTermProblems(browser.couponTermsOf(JSON.parse(JSON.stringify(input))), NOW)).toEqual(found);
  });
});
