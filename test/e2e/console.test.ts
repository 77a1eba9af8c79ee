/**
 * The operator's console in a real browser: headless Chromium (Debian's package) driven by
 * playwright-core against the app in-process, filled with the demo shop through its API. It
 * registers and changes a product, creates a coupon, watches a checkout appear in the
 * projections' lag and in the ranking, retries a dead delivery and watches a rebuild's progress,
 * asserting on what the page shows. CONSOLE_SCREENSHOTS=docs/console saves the pages'
 * screenshots for the docs.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BrowserContext, chromium, Page } from 'playwright-core';
import { MockDataPlatform } from '../../src/data-platform/mock-server';
import { Filled, fillShop, travellingClock } from '../../src/demo/fill';
import { ORDERS } from '../../src/demo/shop';
import { DocumentStore } from '../../src/shared/documents/port';
import { bearer, startTestApp, TestApp } from '../support/app';
import { eventually } from '../support/eventually';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const PAYER = { name: 'Bob Park', phone: '010-2222-3333', email: 'bob@example.com' };
/** Small batches, so that a rebuild of the demo shop's log moves in several steps. */
const BATCH_SIZE = 20;

/**
 * Holds `projection`'s checkpointed writes after the first `pass` until released: a rebuild then
 * stands part-way for as long as the test looks at it, and goes on when it is released.
 */
function holdWrites(documents: DocumentStore, projection: string, pass: number): () => void {
  const write = documents.write.bind(documents);
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  let passed = 0;
  documents.write = async (writes, checkpoint) => {
    if (checkpoint?.projection === projection && passed++ >= pass) await opened;
    return write(writes, checkpoint);
  };
  return () => {
    documents.write = write;
    open();
  };
}

if (!existsSync(CHROMIUM)) {
  describe('console in a browser', () => {
    it.skip(`SKIPPED: ${CHROMIUM} is missing (apt-get install -y chromium; .ci/run installs it)`, () => undefined);
  });
} else {
  describe('console in a browser', () => {
    let t: TestApp;
    let shop: Filled;
    let platform: MockDataPlatform;
    let release: () => void = () => undefined;
    let context: BrowserContext;
    let page: Page;
    let profile: string;
    let shots: string | undefined;
    /** Every API path the page requested, to check what it did not attempt. */
    const requested: string[] = [];

    beforeAll(async () => {
      platform = await MockDataPlatform.start({ host: '127.0.0.1', port: 0 });
      // The demo's own clock, so that its orders land on the days it plans.
      const { clock, travel } = travellingClock();
      t = await startTestApp({
        overrides: { clock },
        env: {
          PROJECTION_BATCH_SIZE: String(BATCH_SIZE),
          DATA_PLATFORM_URL: platform.url,
          // One failed attempt makes a delivery DEAD.
          DATA_PLATFORM_MAX_ATTEMPTS: '1',
          DATA_PLATFORM_TIMEOUT_MS: '300',
          QUEUE_LEASE_MS: '5000',
          DATA_PLATFORM_BACKOFF_BASE_MS: '5',
          DATA_PLATFORM_BACKOFF_MAX_MS: '50',
          DATA_PLATFORM_RECONCILE_MS: '200',
          DELIVERY_POLL_MS: '20',
          POPULAR_REFRESH_MS: '100',
        },
      });
      shop = await fillShop({ baseUrl: t.baseUrl, travel });
      // Every demo order delivered to the platform before the browser looks.
      const admin = bearer(await t.tokenFor('ops', 'admin'));
      await eventually(
        async () => (await t.http().get('/admin/data-platform/delivery-counts').set(admin)).body,
        (counts) => counts.DELIVERED === ORDERS.length,
      );
      profile = mkdtempSync(join(tmpdir(), 'eventmart-chromium-'));
      context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1200, height: 760 } });
      page = context.pages()[0] ?? (await context.newPage());
      page.setDefaultTimeout(10_000);
      page.on('request', (request) => requested.push(`${request.method()} ${new URL(request.url()).pathname}`));
      if (process.env.CONSOLE_SCREENSHOTS) {
        shots = resolve(process.env.CONSOLE_SCREENSHOTS);
        mkdirSync(shots, { recursive: true });
      }
    });
    afterAll(async () => {
      release();
      await context?.close();
      if (profile) rmSync(profile, { recursive: true, force: true });
      await t?.close();
      await platform?.close();
    });

    const screenshot = async (name: string) => {
      if (shots) await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
    };
    const alert = () => page.getByRole('alert');
    const status = () => page.getByRole('status');
    const row = (attribute: string, value: string) => page.locator(`tr[${attribute}="${value}"]`);
    const go = async (name: string) => {
      await page.getByRole('link', { name }).click();
    };
    const signIn = async (token: string) => {
      await page.getByLabel('Admin token').fill(token);
      await page.getByRole('button', { name: 'Use token' }).click();
    };

    it('refuses a customer token without asking the admin API, and shows the API problem for a forged admin one', async () => {
      await page.goto(`${t.baseUrl}/console`);
      await signIn(shop.tokens.alice);
      await expectText(alert(), 'This console needs an admin token');
      expect(requested.filter((r) => r.includes('/admin/'))).toEqual([]);

      // An admin role claim the server did not sign: the page asks, and shows the refusal.
      const forged = `${Buffer.from('{"alg":"HS256"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'mallory', role: 'admin' })).toString('base64url')}.c2ln`;
      const refusal = await t.http().get('/admin/projections').set(bearer(forged));
      expect(refusal.status).toBe(401);
      await signIn(forged);
      await expectText(alert(), `${refusal.body.title} ${refusal.body.detail}`);
    });

    it('mints the dev admin token and shows every projection', async () => {
      await page.getByRole('button', { name: 'Mint the dev admin token' }).click();
      await expectText(page.locator('#who'), 'admin console-admin');
      await eventually(() => page.locator('tr[data-projection]').count(), (n) => n === t.app.projector.projections.length);
      await expectText(row('data-projection', 'orders'), 'caught up');
    });

    let productId = '';
    it('registers, restocks, renames and reprices a product, with its stock history', async () => {
      await go('Catalogue and stock');
      // The demo's catalogue, with the stock its orders left.
      await eventually(() => page.locator('tr[data-product]').count(), (n) => n === shop.products.size);
      const register = page.getByRole('form', { name: 'Register a product' });
      await register.getByLabel('Name').fill('Monitor arm');
      await register.getByLabel('Price (KRW)').fill('59000');
      await register.getByLabel('Initial stock').fill('20');
      await register.getByRole('button', { name: 'Register' }).click();
      await expectText(status(), 'Registered Monitor arm.');
      const arm = page.locator('tr[data-product]', { hasText: 'Monitor arm' });
      await expectText(arm, 'Monitor arm59,00020ON_SALE');
      productId = (await arm.getAttribute('data-product'))!;

      await page.getByRole('form', { name: 'Restock' }).getByLabel('Units to add').fill('10');
      await page.getByRole('button', { name: 'Restock' }).click();
      await expectText(status(), 'Monitor arm restocked: 30 in stock.');
      await page.getByRole('form', { name: 'Rename' }).getByLabel('New name').fill('Gas-spring monitor arm');
      await page.getByRole('button', { name: 'Rename' }).click();
      await expectText(status(), 'Renamed to Gas-spring monitor arm.');
      await page.getByRole('form', { name: 'Reprice' }).getByLabel('New price (KRW)').fill('69000');
      await page.getByRole('button', { name: 'Reprice' }).click();
      await expectText(status(), 'Gas-spring monitor arm now costs 69,000 KRW.');
      await expectText(row('data-product', productId), 'Gas-spring monitor arm69,00030ON_SALE');
      const history = page.getByRole('table', { name: 'Stock history' }).locator('tbody tr');
      await eventually(() => history.allInnerTexts(), (rows) => rows.length === 2);
      expect((await history.allInnerTexts()).map((text) => text.split('\t').slice(1).join(' ').trim())).toEqual(['RESTOCK +10 30', 'REGISTERED +20 20']);
      await screenshot('catalogue');
    });

    it('creates a coupon only within the API rules, and shows issued and remaining', async () => {
      await go('Coupons');
      const form = page.getByRole('form', { name: 'Create a coupon' });
      await form.getByLabel('Name').fill('Spring sale: 10% off, up to 3,000');
      await form.getByLabel('Total quantity').fill('100');
      await form.getByLabel('Kind').selectOption('PERCENT');
      await form.getByLabel('Percent off').fill('10');
      await form.getByLabel('At most (KRW, optional)').fill('3000');
      await form.getByLabel('Issue from').fill('2030-01-02T00:00');
      await form.getByLabel('Issue until').fill('2030-01-01T00:00');
      await form.getByRole('button', { name: 'Create coupon' }).click();
      await expectText(alert(), 'issueEndsAt must be after issueStartsAt');
      expect(requested).not.toContain('POST /admin/coupons');

      await form.getByLabel('Issue from').fill('');
      await form.getByLabel('Issue until').fill('');
      await form.getByRole('button', { name: 'Create coupon' }).click();
      await expectText(status(), 'Created Spring sale: 10% off, up to 3,000');
      const campaign = page.locator('tr[data-coupon]', { hasText: 'Spring sale' });
      await expectText(campaign, '0 / 100');
      const couponId = (await campaign.getAttribute('data-coupon'))!;

      expect((await t.http().post(`/coupons/${couponId}/issue`).set(bearer(shop.tokens.bob))).status).toBe(201);
      await expectText(campaign, '1 / 100');
      expect(await campaign.locator('progress').evaluate((bar) => [(bar as unknown as { value: number }).value, (bar as unknown as { max: number }).max])).toEqual([1, 100]);
      await expectText(campaign.locator('td').last(), '99');
      // Beside the demo's two campaigns, one of them nearly gone.
      await eventually(() => page.locator('tr[data-coupon]').count(), (n) => n === shop.coupons.size + 1);
      await screenshot('coupons');
    });

    it('shows a checkout as lag while the projections are held, then caught up', async () => {
      await go('Projections');
      await platform.setMode('down');
      await t.app.projector.stop();
      const checkout = await t.http().post('/checkout').set(bearer(shop.tokens.bob)).send({ items: [{ productId, quantity: 2 }], payer: PAYER });
      expect(checkout.status).toBe(201);
      await expectText(row('data-projection', 'orders'), 'behind');
      // The lag columns: events behind the checkpoint (the checkout's order, stock and points at least) and the oldest one's age, live.
      const lag = async () => {
        const [events, age] = await row('data-projection', 'orders').locator('td.num').allInnerTexts();
        return { events: Number(events.replace(/\D/g, '')), ms: msOf(age) };
      };
      const held = await eventually(lag, ({ events, ms }) => events >= 2 && ms > 0);
      // Refreshed every second while held: the same events grow older.
      await eventually(lag, ({ events, ms }) => events >= held.events && ms > held.ms);
      await screenshot('projections');

      t.app.projector.start();
      await expectText(row('data-projection', 'orders'), 'caught up');
      expect(await eventually(lag, ({ events }) => events === 0)).toEqual({ events: 0, ms: 0 });
      const orders = (await t.app.projector.status()).find((s) => s.name === 'orders')!;
      await expectText(row('data-projection', 'orders'), orders.checkpoint!);
    });

    it('lists the order, ranks the product, counts the deliveries and retries the dead one', async () => {
      await go('Orders and data platform');
      const recent = page.getByRole('table', { name: 'Recent orders' }).locator('tbody tr');
      await expectText(recent.first(), 'bob');
      await expectText(recent.first(), 'Gas-spring monitor arm × 2');
      expect(await recent.count()).toBe(ORDERS.length + 1);

      // Today's sales only: the two arms outsell the demo's orders of today, one unit each.
      await page.getByLabel('Days').fill('1');
      await expectText(page.getByRole('region', { name: 'Popular products' }), '1. Gas-spring monitor arm');
      await expectText(page.locator('.bars'), '1. Gas-spring monitor arm2');
      // The week: the demo's best seller leads again.
      await page.getByLabel('Days').fill('7');
      await expectText(page.locator('.bars'), `1. ${shop.ranking[0].name}${shop.ranking[0].soldQuantity}`);

      const tab = (status: string) => page.locator(`.tabs button[data-status="${status}"]`);
      await expectText(tab('DEAD'), 'DEAD 1');
      await expectText(tab('DELIVERED'), `DELIVERED ${ORDERS.length}`);
      await expectText(tab('PENDING'), 'PENDING 0');
      const dead = page.getByRole('table', { name: 'Deliveries' }).locator('tbody tr[data-delivery]');
      await expectText(dead.first(), 'DEAD');
      expect(await dead.count()).toBe(1);
      await screenshot('orders');
      const deliveryId = (await dead.first().getAttribute('data-delivery'))!;
      await platform.setMode('up');
      await dead.first().getByRole('button', { name: 'Retry' }).click();
      await expectText(status(), 'is PENDING again');
      await tab('DELIVERED').click();
      await expectText(row('data-delivery', deliveryId), 'DELIVERED');
      expect(platform.state().deliveries[deliveryId]?.accepted).toBe(1);
      await expectText(tab('DELIVERED'), `DELIVERED ${ORDERS.length + 1}`);
      await expectText(tab('DEAD'), 'DEAD 0');
    });

    it('rebuilds a projection after asking', async () => {
      await go('Projections');
      await row('data-projection', 'orders').getByRole('button', { name: 'Rebuild' }).click();
      const dialog = page.getByRole('dialog');
      await expectText(dialog, 'Rebuild orders?');
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      expect(requested).not.toContain('POST /admin/projections/orders/rebuild');

      // Held after its first batch that writes: the replay stands part-way until released.
      release = holdWrites(t.app.services.documents, 'orders', 1);
      const orders = row('data-projection', 'orders');
      await orders.getByRole('button', { name: 'Rebuild' }).click();
      await dialog.getByRole('button', { name: 'Rebuild orders' }).click();
      await expectText(status(), 'Rebuild of orders started.');
      expect(requested).toContain('POST /admin/projections/orders/rebuild');
      const bar = orders.getByRole('progressbar', { name: 'rebuilding orders' });
      // The share the projector reports while it stands, as a bar and in words, and no second rebuild meanwhile.
      const { shown } = await eventually(
        async () => {
          const progress = (await t.app.projector.status()).find((s) => s.name === 'orders')!.rebuilding;
          const value = (await bar.count()) === 1 ? await bar.evaluate((el) => (el as unknown as { value: number }).value) : NaN;
          return { shown: value, reported: progress ? Math.floor((100 * progress.done) / progress.total) : NaN };
        },
        ({ shown, reported }) => shown === reported && shown > 0,
      );
      expect(shown).toBeLessThan(100);
      await expectText(orders, `rebuilding ${shown}%`);
      expect(await orders.getByRole('button', { name: 'Rebuild' }).isDisabled()).toBe(true);
      await screenshot('rebuild');

      release();
      await expectText(orders, 'caught up');
      expect(await bar.count()).toBe(0);
      const head = (await t.app.projector.status()).find((s) => s.name === 'orders')!.head!;
      await expectText(orders, head);
    });
  });
}

const AGE_UNITS: Record<string, number> = { ms: 1, s: 1_000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/** An age as the console shows it ("1,980 ms", "12.5 s"), in ms; NaN for anything else. */
function msOf(age: string): number {
  const shown = /^([\d,.]+) (ms|s|min|h|d)$/.exec(age.trim());
  return shown ? Number(shown[1].replace(/,/g, '')) * AGE_UNITS[shown[2]] : NaN;
}

/** Waits until the element's text contains `text` (spaces between cells ignored), failing with what it showed. */
async function expectText(locator: import('playwright-core').Locator, text: string): Promise<void> {
  const squeeze = (value: string) => value.replace(/\s+/g, '');
  await eventually(
    () => locator.first().innerText({ timeout: 10_000 }).catch(() => ''),
    (shown) => squeeze(shown).includes(squeeze(text)),
  );
}
