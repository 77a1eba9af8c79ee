import { api } from '../api.js';
import { barChart, formatNumber, formatTime, h, load, notice, problemView, replace } from '../dom.js';

const STATUSES = ['DEAD', 'PENDING', 'DELIVERED'];

export const ordersPage = {
  id: 'orders',
  title: 'Orders and data platform',
  refreshMs: 2000,
  mount(root) {
    const orders = { loading: h('div'), rows: h('tbody') };
    const deliveries = { loading: h('div'), status: h('div'), rows: h('tbody'), shown: 'DEAD' };
    const ranking = { loading: h('div'), chart: h('div'), generated: h('p', { class: 'muted' }) };

    /** One tab per status with its count, built once: a refresh only changes the counts, so a click never lands on a replaced button. */
    const counts = Object.fromEntries(STATUSES.map((status) => [status, h('span', { class: 'count' }, '…')]));
    const tabs = h(
      'div',
      { class: 'tabs', role: 'group', 'aria-label': 'Delivery status' },
      STATUSES.map((status) => {
        const tab = h('button', { type: 'button', class: 'secondary', 'data-status': status, 'aria-pressed': String(status === deliveries.shown) }, status, ' ', counts[status]);
        tab.addEventListener('click', () => {
          deliveries.shown = status;
          for (const other of tabs.children) other.setAttribute('aria-pressed', String(other === tab));
          refreshDeliveries().catch(() => undefined);
        });
        return tab;
      }),
    );

    const days = h('input', { type: 'range', name: 'days', min: '1', max: '30', step: '1', value: '7', 'aria-label': 'Days' });
    const daysLabel = h('span');
    days.addEventListener('input', () => refreshRanking().catch(() => undefined));

    const retry = async (delivery) => {
      try {
        const revived = await api(`/admin/data-platform/deliveries/${encodeURIComponent(delivery.id)}/retry`, { method: 'POST' });
        replace(deliveries.status, notice(`Delivery of ${revived.eventType} for order ${revived.orderId} is ${revived.status} again.`));
        await refreshDeliveries();
      } catch (error) {
        replace(deliveries.status, problemView(error));
      }
    };

    async function refreshOrders() {
      const page = await load(orders.loading, () => api('/admin/orders?limit=20'));
      replace(
        orders.rows,
        page.items.map((o) =>
          h(
            'tr',
            { 'data-order': o.orderId },
            h('td', {}, formatTime(o.createdAt)),
            h('td', {}, h('code', {}, o.orderId)),
            h('td', {}, o.userId),
            h('td', {}, o.items.map((item) => `${item.name} × ${item.quantity}`).join(', ')),
            h('td', { class: 'num' }, formatNumber(o.total)),
            h('td', { class: `state-${o.status}` }, o.status),
          ),
        ),
      );
    }

    async function refreshDeliveries() {
      const status = deliveries.shown;
      const [page, counted] = await load(deliveries.loading, () =>
        Promise.all([api(`/admin/data-platform/deliveries?limit=20&status=${status}`), api('/admin/data-platform/delivery-counts')]),
      );
      for (const each of STATUSES) replace(counts[each], formatNumber(counted[each]));
      if (status !== deliveries.shown) return;
      replace(
        deliveries.rows,
        page.items.length === 0 ? h('tr', {}, h('td', { colspan: 6, class: 'muted' }, `No ${status} deliveries.`)) : null,
        page.items.map((d) => {
          const button = d.status === 'DEAD' ? h('button', { type: 'button' }, 'Retry') : null;
          button?.addEventListener('click', () => retry(d));
          return h(
            'tr',
            { 'data-delivery': d.id },
            h('td', {}, h('code', {}, d.orderId)),
            h('td', {}, d.eventType),
            h('td', { class: `state-${d.status}` }, d.status),
            h('td', { class: 'num' }, formatNumber(d.attempts)),
            h('td', {}, d.lastError ?? ''),
            h('td', {}, button ?? formatTime(d.deliveredAt ?? d.updatedAt)),
          );
        }),
      );
    }

    async function refreshRanking() {
      const n = Number(days.value);
      replace(daysLabel, `${n} day${n === 1 ? '' : 's'}`);
      const popular = await load(ranking.loading, () => api(`/products/popular?days=${n}&limit=10`, { auth: false }));
      if (Number(days.value) !== n) return;
      replace(ranking.generated, `Computed ${formatTime(popular.generatedAt)} (the ranking is cached for a few seconds).`);
      replace(
        ranking.chart,
        popular.items.length === 0 ? h('p', { class: 'muted' }, 'Nothing sold in this window.') : barChart(popular.items.map((item) => ({ label: `${item.rank}. ${item.name}`, value: item.soldQuantity }))),
      );
    }

    root.append(
      h(
        'section',
        {},
        h('h2', {}, 'Recent orders'),
        orders.loading,
        h(
          'table',
          { 'aria-label': 'Recent orders' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Placed'), h('th', {}, 'Order'), h('th', {}, 'User'), h('th', {}, 'Items'), h('th', { class: 'num' }, 'Total (KRW)'), h('th', {}, 'Status'))),
          orders.rows,
        ),
      ),
      h(
        'div',
        { class: 'columns' },
        h(
          'section',
          {},
          h('h2', {}, 'Deliveries to the data platform'),
          tabs,
          deliveries.loading,
          deliveries.status,
          h(
            'table',
            { 'aria-label': 'Deliveries' },
            h('thead', {}, h('tr', {}, h('th', {}, 'Order'), h('th', {}, 'Event'), h('th', {}, 'Status'), h('th', { class: 'num' }, 'Attempts'), h('th', {}, 'Last error'), h('th', {}, ''))),
            deliveries.rows,
          ),
        ),
        h('section', { 'aria-label': 'Popular products' }, h('h2', {}, 'Popular products'), h('label', { class: 'inline' }, 'Last', days, daysLabel), ranking.loading, ranking.chart, ranking.generated),
      ),
    );
    return { refresh: () => Promise.all([refreshOrders(), refreshDeliveries(), refreshRanking()]) };
  },
};
