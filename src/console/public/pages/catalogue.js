import { api, bodySchema } from '../api.js';
import { applyRules, formatNumber, formatTime, h, load, notice, numberOf, problemView, replace } from '../dom.js';

const PAGE_SIZE = 20;

export const cataloguePage = {
  id: 'catalogue',
  title: 'Catalogue and stock',
  refreshMs: 3000,
  mount(root) {
    const loading = h('div');
    const status = h('div');
    const rows = h('tbody');
    const pager = h('div');
    const detail = h('section', { 'aria-label': 'Product' }, h('h2', {}, 'Product'), h('p', { class: 'muted' }, 'Select a product to rename, reprice or restock it and see its stock history.'));
    /** The last write's position: reads wait for it, so the page shows what it just did. */
    let position;
    let cursors = [null];
    let selected = null;
    let products = [];

    const name = h('input', { name: 'name', required: true });
    const price = h('input', { name: 'price', type: 'number', required: true });
    const stock = h('input', { name: 'stock', type: 'number', required: true });
    const register = h(
      'form',
      { 'aria-label': 'Register a product' },
      h('label', {}, 'Name', name),
      h('label', {}, 'Price (KRW)', price),
      h('label', {}, 'Initial stock', stock),
      h('button', { type: 'submit' }, 'Register'),
    );
    bodySchema('post', '/admin/products')
      .then(({ properties = {} }) => {
        applyRules(name, properties.name);
        applyRules(price, properties.price);
        applyRules(stock, properties.stock);
      })
      .catch((error) => replace(status, problemView(error)));

    /** Runs a write, shows its outcome, then re-reads at its position. */
    const write = async (what, request) => {
      try {
        const result = await request();
        position = result.position;
        replace(status, notice(what(result)));
        await refresh();
        return result;
      } catch (error) {
        replace(status, problemView(error));
        return undefined;
      }
    };

    register.addEventListener('submit', async (event) => {
      event.preventDefault();
      const body = { name: name.value, price: numberOf(price), stock: numberOf(stock) };
      const created = await write((p) => `Registered ${p.name}.`, () => api('/admin/products', { method: 'POST', body }));
      if (created) {
        register.reset();
        select(created.id);
      }
    });

    const changeForm = (label, field, input, send) => {
      const form = h('form', { 'aria-label': label }, h('label', {}, field, input), h('button', { type: 'submit' }, label));
      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        if (await send()) input.value = '';
      });
      return form;
    };

    /** The selected product's parts that refresh; its forms are built once per selection, so typing is never wiped. */
    const shown = { title: h('h2'), info: h('p', { class: 'muted' }), history: h('tbody') };

    async function updateDetail() {
      if (!selected) return;
      const id = selected;
      const product = products.find((p) => p.id === id) ?? (await api(`/products/${encodeURIComponent(id)}`, { consistentWith: position }));
      const history = await api(`/admin/products/${encodeURIComponent(id)}/stock-history?limit=${PAGE_SIZE}`, { consistentWith: position });
      if (id !== selected) return;
      replace(shown.title, product.name);
      replace(shown.info, `${product.id} · ${formatNumber(product.price)} KRW · stock ${formatNumber(product.stock)} · ${product.status}`);
      replace(
        shown.history,
        history.items.map((change) =>
          h(
            'tr',
            {},
            h('td', {}, formatTime(change.occurredAt)),
            h('td', {}, change.reason),
            h('td', { class: 'num' }, `${change.delta > 0 ? '+' : ''}${formatNumber(change.delta)}`),
            h('td', { class: 'num' }, formatNumber(change.stockAfter)),
            h('td', {}, change.orderId ? h('code', {}, change.orderId) : ''),
          ),
        ),
      );
    }

    async function buildDetail(id) {
      const [patch, restock] = await Promise.all([bodySchema('patch', '/admin/products/{id}'), bodySchema('post', '/admin/products/{id}/restock')]);
      const path = `/admin/products/${encodeURIComponent(id)}`;
      const newName = applyRules(h('input', { name: 'name', required: true }), patch.properties?.name);
      const newPrice = applyRules(h('input', { name: 'price', type: 'number', required: true }), patch.properties?.price);
      const quantity = applyRules(h('input', { name: 'quantity', type: 'number', required: true }), restock.properties?.quantity);
      replace(
        detail,
        shown.title,
        shown.info,
        changeForm('Rename', 'New name', newName, () => write((p) => `Renamed to ${p.name}.`, () => api(path, { method: 'PATCH', body: { name: newName.value } }))),
        changeForm('Reprice', 'New price (KRW)', newPrice, () =>
          write((p) => `${p.name} now costs ${formatNumber(p.price)} KRW.`, () => api(path, { method: 'PATCH', body: { price: numberOf(newPrice) } })),
        ),
        changeForm('Restock', 'Units to add', quantity, () =>
          write((p) => `${p.name} restocked: ${formatNumber(p.stock)} in stock.`, () => api(`${path}/restock`, { method: 'POST', body: { quantity: numberOf(quantity) } })),
        ),
        h('h2', {}, 'Stock history'),
        h(
          'table',
          { 'aria-label': 'Stock history' },
          h('thead', {}, h('tr', {}, h('th', {}, 'When'), h('th', {}, 'Reason'), h('th', { class: 'num' }, 'Change'), h('th', { class: 'num' }, 'Stock after'), h('th', {}, 'Order'))),
          shown.history,
        ),
      );
      await updateDetail();
    }

    function select(id) {
      selected = id;
      for (const row of rows.children) row.classList.toggle('selected', row.dataset.product === id);
      replace(shown.history);
      buildDetail(id).catch((error) => replace(status, problemView(error)));
    }

    const refresh = async () => {
      const cursor = cursors.at(-1);
      const page = await load(loading, () => api(`/products?limit=${PAGE_SIZE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { consistentWith: position }));
      products = page.items;
      replace(
        rows,
        products.map((product) => {
          const row = h(
            'tr',
            { 'data-product': product.id, class: product.id === selected ? 'selected' : null },
            h('td', {}, product.name),
            h('td', { class: 'num' }, formatNumber(product.price)),
            h('td', { class: 'num' }, formatNumber(product.stock)),
            h('td', { class: `state-${product.status}` }, product.status),
          );
          row.addEventListener('click', () => select(product.id));
          return row;
        }),
      );
      const first = h('button', { type: 'button', class: 'secondary', disabled: cursors.length === 1 }, 'First page');
      const next = h('button', { type: 'button', class: 'secondary', disabled: !page.nextCursor }, 'Next page');
      first.addEventListener('click', () => ((cursors = [null]), refresh()));
      next.addEventListener('click', () => (cursors.push(page.nextCursor), refresh()));
      replace(pager, first, ' ', next);
      await updateDetail();
    };

    root.append(
      h('section', {}, h('h2', {}, 'Register a product'), register, status),
      h(
        'div',
        { class: 'columns' },
        h(
          'section',
          {},
          h('h2', {}, 'Catalogue'),
          loading,
          h('table', { 'aria-label': 'Catalogue' }, h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', { class: 'num' }, 'Price (KRW)'), h('th', { class: 'num' }, 'Stock'), h('th', {}, 'Status'))), rows),
          pager,
        ),
        detail,
      ),
    );
    return { refresh };
  },
};
