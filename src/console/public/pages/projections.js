import { api } from '../api.js';
import { formatAge, formatNumber, h, load, notice, problemView, replace } from '../dom.js';

function stateCell(item) {
  if (item.rebuilding) {
    const { done, total } = item.rebuilding;
    const share = total > 0 ? Math.min(1, done / total) : 1;
    return h('td', {}, h('progress', { max: 100, value: Math.floor(share * 100), 'aria-label': `rebuilding ${item.name}` }), ` rebuilding ${Math.floor(share * 100)}%`);
  }
  return h('td', { class: item.caughtUp ? 'state-ok' : 'state-behind' }, item.caughtUp ? 'caught up' : 'behind');
}

export const projectionsPage = {
  id: 'projections',
  title: 'Projections',
  refreshMs: 1000,
  mount(root) {
    const status = h('div');
    const loading = h('div');
    const body = h('tbody');
    const head = h('p', { class: 'muted' });
    const dialog = h('dialog');
    root.append(
      h(
        'section',
        {},
        h('h2', {}, 'Projections'),
        head,
        loading,
        status,
        h(
          'table',
          {},
          h('thead', {}, h('tr', {}, h('th', {}, 'Projection'), h('th', {}, 'Checkpoint'), h('th', { class: 'num' }, 'Lag (events)'), h('th', { class: 'num' }, 'Lag (time)'), h('th', {}, 'State'), h('th', {}, ''))),
          body,
        ),
      ),
      dialog,
    );

    const confirmRebuild = (name) =>
      new Promise((resolve) => {
        const cancel = h('button', { type: 'button', class: 'secondary', value: 'cancel' }, 'Cancel');
        const go = h('button', { type: 'button', value: 'rebuild' }, `Rebuild ${name}`);
        cancel.addEventListener('click', () => dialog.close('cancel'));
        go.addEventListener('click', () => dialog.close('rebuild'));
        replace(
          dialog,
          h('h2', {}, `Rebuild ${name}?`),
          h('p', {}, `The ${name} read model is cleared and refilled from the whole event log. Readers see it refill while it runs.`),
          h('menu', {}, cancel, go),
        );
        dialog.addEventListener('close', () => resolve(dialog.returnValue === 'rebuild'), { once: true });
        dialog.showModal();
      });

    const rebuild = async (name) => {
      if (!(await confirmRebuild(name))) return;
      try {
        await api(`/admin/projections/${encodeURIComponent(name)}/rebuild`, { method: 'POST' });
        replace(status, notice(`Rebuild of ${name} started.`));
        await refresh();
      } catch (error) {
        replace(status, problemView(error));
      }
    };

    const refresh = async () => {
      const { items } = await load(loading, () => api('/admin/projections'));
      const behind = items.filter((item) => !item.caughtUp).length;
      replace(head, `Log head ${items[0]?.head ?? '—'} · ${behind === 0 ? 'every projection caught up' : `${behind} behind`} · refreshed ${new Date().toLocaleTimeString('en-GB')}`);
      replace(
        body,
        items.map((item) => {
          const button = h('button', { type: 'button', class: 'secondary', disabled: item.rebuilding !== null && item.rebuilding !== undefined }, 'Rebuild');
          button.addEventListener('click', () => rebuild(item.name));
          return h(
            'tr',
            { 'data-projection': item.name },
            h('td', {}, h('code', {}, item.name)),
            h('td', {}, h('code', {}, item.checkpoint ?? '—')),
            // Lag fields are shown when the API reports them (older servers do not); a count past the cap is marked +.
            h('td', { class: 'num' }, typeof item.lagEvents === 'number' ? `${formatNumber(item.lagEvents)}${item.lagEventsCapped ? '+' : ''}` : '—'),
            h('td', { class: 'num', title: typeof item.lagMs === 'number' ? `${formatNumber(item.lagMs)} ms` : null }, formatAge(item.lagMs)),
            stateCell(item),
            h('td', {}, button),
          );
        }),
      );
    };
    return { refresh };
  },
};
