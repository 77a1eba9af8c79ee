import { api, apiDescription, whenUnauthenticated } from './api.js';
import { h, problemView, replace } from './dom.js';
import { claimsOf, session } from './session.js';
import { projectionsPage } from './pages/projections.js';
import { cataloguePage } from './pages/catalogue.js';
import { couponsPage } from './pages/coupons.js';
import { ordersPage } from './pages/orders.js';

const PAGES = [projectionsPage, cataloguePage, couponsPage, ordersPage];
const DEV_ADMIN = { userId: 'console-admin', role: 'admin' };

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const who = document.getElementById('who');

/** The page on screen: its refresh timer and clean-up. */
let current = null;

function leavePage() {
  if (!current) return;
  clearInterval(current.timer);
  current.view.unmount?.();
  current = null;
}

function signOut(reason) {
  leavePage();
  session.clear();
  showLogin(reason);
}

whenUnauthenticated((error) => signOut(error));

/** Why this token may not use the console, or null when it may. */
function refusal(claims) {
  if (!claims || typeof claims.sub !== 'string') return { title: 'Not a token', detail: 'paste the bearer token (three parts separated by dots).' };
  if (claims.role !== 'admin') {
    return { title: 'This console needs an admin token', detail: `the token is ${claims.sub}'s, with the ${claims.role ?? 'unknown'} role: admin pages are neither shown nor requested with it.` };
  }
  if (typeof claims.exp === 'number' && claims.exp * 1000 <= Date.now()) return { title: 'The token has expired', detail: 'paste a fresh one.' };
  return null;
}

async function showLogin(problem) {
  nav.hidden = true;
  replace(who);
  const input = h('input', { type: 'password', name: 'token', autocomplete: 'off', required: true, placeholder: 'eyJhbGciOi…' });
  const form = h(
    'form',
    {
      onsubmit: (event) => {
        event.preventDefault();
        session.set(input.value);
        start();
      },
    },
    h('label', { class: 'inline' }, 'Admin token', input),
    h('button', { type: 'submit' }, 'Use token'),
  );
  const dev = h('div');
  const panel = h(
    'section',
    { class: 'login' },
    h('h2', {}, 'Sign in'),
    h('p', { class: 'muted' }, 'Paste an admin bearer token. It is kept in this tab only (sessionStorage) and sent in the Authorization header, never in a URL.'),
    problem ? problemView(problem) : null,
    form,
    dev,
  );
  replace(main, panel);
  try {
    // The dev-token route exists only where dev tokens are on (embedded mode, not production).
    if ((await apiDescription()).paths?.['/auth/dev-token']) {
      const mint = h('button', { type: 'button', class: 'secondary' }, 'Mint the dev admin token');
      mint.addEventListener('click', async () => {
        try {
          const { token } = await api('/auth/dev-token', { method: 'POST', body: DEV_ADMIN, auth: false });
          session.set(token);
          start();
        } catch (error) {
          replace(dev, problemView(error));
        }
      });
      replace(dev, h('p', { class: 'muted' }, 'Dev tokens are on here: ', mint));
    }
  } catch (error) {
    replace(dev, problemView(error));
  }
}

function showPage() {
  const page = PAGES.find((p) => `#${p.id}` === location.hash) ?? PAGES[0];
  leavePage();
  for (const link of nav.querySelectorAll('a')) link.classList.toggle('current', link.getAttribute('href') === `#${page.id}`);
  document.title = `${page.title} · Eventmart console`;
  const root = h('div', { class: 'page', 'data-page': page.id });
  replace(main, root);
  const view = page.mount(root);
  const tick = () => {
    if (!document.hidden) view.refresh().catch(() => undefined);
  };
  current = { view, timer: setInterval(tick, page.refreshMs) };
  view.refresh().catch(() => undefined);
}

function start() {
  const token = session.token;
  if (!token) return showLogin();
  const claims = claimsOf(token);
  const refused = refusal(claims);
  if (refused) {
    session.clear();
    return showLogin(refused);
  }
  nav.hidden = false;
  const out = h('button', { type: 'button', class: 'secondary' }, 'Sign out');
  out.addEventListener('click', () => signOut());
  replace(who, h('span', {}, `admin ${claims.sub}`), out);
  showPage();
}

window.addEventListener('hashchange', () => {
  if (current) showPage();
});
start();
