import { api, apiDescription, bodySchema, resolve } from '../api.js';
import { applyRules, formatNumber, formatTime, h, load, notice, numberOf, problemView, replace } from '../dom.js';
import { couponTermProblems, couponTermsOf } from '../coupon-term-rules.js';

const describeDiscount = (d) =>
  d.type === 'FIXED' ? `${formatNumber(d.amount)} KRW off` : `${d.percent}% off${d.maxDiscount !== undefined ? `, at most ${formatNumber(d.maxDiscount)} KRW` : ''}`;

const issueWindow = (c) => (c.issueStartsAt || c.issueEndsAt ? `${formatTime(c.issueStartsAt)} → ${formatTime(c.issueEndsAt)}` : 'always');
const validity = (c) => (c.validUntil ? `until ${formatTime(c.validUntil)}` : c.validDays ? `${c.validDays} days from issue` : 'never expires');

/** The create body's properties and the discount's two variants, found by their `type`: their bounds go onto the inputs. */
function couponSchemaParts(body, resolveRef) {
  const properties = body.properties ?? {};
  const discount = resolveRef(properties.discount) ?? {};
  const variants = (discount.oneOf ?? discount.anyOf ?? []).map(resolveRef);
  const variant = (type) => variants.find((v) => v.properties?.type?.const === type || v.properties?.type?.enum?.includes(type))?.properties ?? {};
  return { properties, fixed: variant('FIXED'), percent: variant('PERCENT') };
}

/** A datetime-local input's value as an ISO instant (in the browser's zone), or undefined when empty. */
const instant = (input) => (input.value ? new Date(input.value).toISOString() : undefined);

export const couponsPage = {
  id: 'coupons',
  title: 'Coupons',
  refreshMs: 2000,
  mount(root) {
    const loading = h('div');
    const status = h('div');
    const rows = h('tbody');
    let position;

    const input = (name, props = {}) => h('input', { name, ...props });
    const f = {
      name: input('name', { required: true }),
      type: h('select', { name: 'discountType' }, h('option', { value: 'FIXED' }, 'Fixed amount'), h('option', { value: 'PERCENT' }, 'Percent')),
      amount: input('amount', { type: 'number' }),
      percent: input('percent', { type: 'number' }),
      maxDiscount: input('maxDiscount', { type: 'number' }),
      totalQuantity: input('totalQuantity', { type: 'number', required: true }),
      minOrderAmount: input('minOrderAmount', { type: 'number' }),
      issueStartsAt: input('issueStartsAt', { type: 'datetime-local' }),
      issueEndsAt: input('issueEndsAt', { type: 'datetime-local' }),
      validity: h('select', { name: 'validity' }, h('option', { value: 'never' }, 'Never expires'), h('option', { value: 'until' }, 'Until a date'), h('option', { value: 'days' }, 'Days from issue')),
      validUntil: input('validUntil', { type: 'datetime-local' }),
      validDays: input('validDays', { type: 'number' }),
    };
    const labelled = (text, el) => h('label', {}, text, el);
    const fixedFields = labelled('Amount off (KRW)', f.amount);
    const percentFields = [labelled('Percent off', f.percent), labelled('At most (KRW, optional)', f.maxDiscount)];
    const untilField = labelled('Valid until', f.validUntil);
    const daysField = labelled('Valid for days', f.validDays);
    const sync = () => {
      fixedFields.hidden = f.type.value !== 'FIXED';
      for (const el of percentFields) el.hidden = f.type.value !== 'PERCENT';
      untilField.hidden = f.validity.value !== 'until';
      daysField.hidden = f.validity.value !== 'days';
    };
    f.type.addEventListener('change', sync);
    f.validity.addEventListener('change', sync);
    sync();

    const form = h(
      'form',
      { class: 'stacked', 'aria-label': 'Create a coupon', novalidate: true },
      labelled('Name', f.name),
      labelled('Total quantity', f.totalQuantity),
      h('fieldset', {}, h('legend', {}, 'Discount'), labelled('Kind', f.type), fixedFields, percentFields, labelled('Minimum order (KRW, optional)', f.minOrderAmount)),
      h('fieldset', {}, h('legend', {}, 'Issue window (optional)'), labelled('Issue from', f.issueStartsAt), labelled('Issue until', f.issueEndsAt)),
      h('fieldset', {}, h('legend', {}, 'Validity of an issued coupon'), labelled('Validity', f.validity), untilField, daysField),
      h('div', {}, h('button', { type: 'submit' }, 'Create coupon')),
    );

    Promise.all([bodySchema('post', '/admin/coupons'), apiDescription()])
      .then(([body, doc]) => {
        const rules = couponSchemaParts(body, (schema) => resolve(doc, schema));
        applyRules(f.name, rules.properties.name);
        applyRules(f.totalQuantity, rules.properties.totalQuantity);
        applyRules(f.minOrderAmount, rules.properties.minOrderAmount);
        applyRules(f.validDays, rules.properties.validDays);
        applyRules(f.amount, rules.fixed.amount);
        applyRules(f.percent, rules.percent.percent);
        applyRules(f.maxDiscount, rules.percent.maxDiscount);
      })
      .catch((error) => replace(status, problemView(error)));

    const terms = () => ({
      name: f.name.value,
      discount:
        f.type.value === 'FIXED'
          ? { type: 'FIXED', amount: numberOf(f.amount) }
          : { type: 'PERCENT', percent: numberOf(f.percent), ...(numberOf(f.maxDiscount) !== undefined ? { maxDiscount: numberOf(f.maxDiscount) } : {}) },
      totalQuantity: numberOf(f.totalQuantity),
      minOrderAmount: numberOf(f.minOrderAmount),
      issueStartsAt: instant(f.issueStartsAt),
      issueEndsAt: instant(f.issueEndsAt),
      validUntil: f.validity.value === 'until' ? instant(f.validUntil) : undefined,
      validDays: f.validity.value === 'days' ? numberOf(f.validDays) : undefined,
    });

    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const body = JSON.parse(JSON.stringify(terms()));
      // The decider's own rules (src/write/coupon/term-rules.ts), so nothing is sent that the API would refuse for them.
      const problems = couponTermProblems(couponTermsOf(body), new Date().toISOString());
      if (problems.length > 0) {
        replace(status, problemView({ title: 'The coupon is not valid', detail: 'nothing was sent:', errors: problems.map((message) => ({ path: '', in: 'form', message })) }));
        return;
      }
      try {
        const created = await api('/admin/coupons', { method: 'POST', body });
        position = created.position;
        replace(status, notice(`Created ${created.name} (${created.couponId}).`));
        form.reset();
        sync();
        await refresh();
      } catch (error) {
        replace(status, problemView(error));
      }
    });

    const refresh = async () => {
      const page = await load(loading, () => api('/admin/coupons?limit=50', { consistentWith: position }));
      replace(
        rows,
        page.items.map((c) =>
          h(
            'tr',
            { 'data-coupon': c.couponId },
            h('td', {}, c.name, h('br'), h('code', { class: 'muted' }, c.couponId)),
            h('td', {}, describeDiscount(c.discount), c.minOrderAmount > 0 ? ` on ${formatNumber(c.minOrderAmount)} KRW or more` : ''),
            h('td', {}, issueWindow(c)),
            h('td', {}, validity(c)),
            h('td', { class: 'issued' }, h('progress', { max: c.totalQuantity, value: c.issuedQuantity, 'aria-label': `${c.name} issued` }), ` ${formatNumber(c.issuedQuantity)} / ${formatNumber(c.totalQuantity)}`),
            h('td', { class: 'num' }, formatNumber(c.remainingQuantity)),
          ),
        ),
      );
    };

    root.append(
      h('section', {}, h('h2', {}, 'Create a coupon'), form, status),
      h(
        'section',
        {},
        h('h2', {}, 'Campaigns'),
        loading,
        h(
          'table',
          { 'aria-label': 'Campaigns' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Coupon'), h('th', {}, 'Discount'), h('th', {}, 'Issue window'), h('th', {}, 'Validity'), h('th', {}, 'Issued'), h('th', { class: 'num' }, 'Remaining'))),
          rows,
        ),
      ),
    );
    return { refresh };
  },
};
