/** Elements built from data with textContent only, so nothing read from the API is ever parsed as HTML. */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'value' || key === 'checked') el[key] = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  el.append(...children.flat(Infinity).filter((child) => child !== null && child !== undefined && child !== false));
  return el;
}

export function replace(el, ...children) {
  el.replaceChildren(...children.flat(Infinity).filter((child) => child !== null && child !== undefined && child !== false));
}

/** An API refusal as its problem's title and detail (and the fields it names, if any). */
export function problemView(error) {
  const fields = error.errors?.map((e) => h('li', {}, `${e.path || e.in}: ${e.message}`));
  return h('div', { class: 'problem', role: 'alert' }, h('strong', {}, error.title), ' ', error.detail ?? '', fields?.length ? h('ul', {}, fields) : null);
}

export const notice = (text) => h('div', { class: 'notice', role: 'status' }, text);

const number = new Intl.NumberFormat('en');
export const formatNumber = (value) => (typeof value === 'number' ? number.format(value) : '—');
/** Units of an age, largest first; an age is shown in the largest that fits it twice, so the number keeps its meaning at a glance. */
const AGE_UNITS = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['min', 60_000],
  ['s', 1_000],
];
const tenths = new Intl.NumberFormat('en', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
/** An age in ms as people read it: exact ms under 10 s (a live lag), then s, min, h or d to a tenth. */
export function formatAge(ms) {
  if (typeof ms !== 'number') return '—';
  if (ms < 10_000) return `${number.format(ms)} ms`;
  const [unit, size] = AGE_UNITS.find(([, length]) => ms >= 2 * length);
  return `${tenths.format(ms / size)} ${unit}`;
}
export const formatTime = (iso) => (iso ? new Date(iso).toLocaleString('en-GB', { dateStyle: 'short', timeStyle: 'medium' }) : '—');

/** Horizontal bars, widths relative to the largest value. */
export function barChart(rows) {
  const max = Math.max(1, ...rows.map((row) => row.value));
  return h(
    'div',
    { class: 'bars' },
    rows.map((row) => {
      const bar = h('div', { class: 'bar', title: String(row.value) });
      // Through the CSSOM: the security policy allows no style attributes in markup.
      bar.style.width = `${(100 * row.value) / max}%`;
      return [h('span', {}, row.label), h('div', {}, bar), h('span', { class: 'num' }, formatNumber(row.value))];
    }),
  );
}

/** A number input's value, or undefined when empty. */
export const numberOf = (input) => (input.value.trim() === '' ? undefined : Number(input.value));

/** Copies a documented JSON-schema property's bounds onto an input, so the browser enforces what the API will. */
export function applyRules(input, property = {}) {
  if (property.type === 'integer') input.step = '1';
  if (property.minimum !== undefined) input.min = String(property.minimum);
  if (property.maximum !== undefined) input.max = String(property.maximum);
  if (property.minLength !== undefined) input.minLength = property.minLength;
  if (property.maxLength !== undefined) input.maxLength = property.maxLength;
  return input;
}

/** A page's read: its problem shown in `where` until a read succeeds again. */
export async function load(where, read) {
  try {
    const value = await read();
    replace(where);
    return value;
  } catch (error) {
    replace(where, problemView(error));
    throw error;
  }
}
