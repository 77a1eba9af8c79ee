import { randomUUID } from 'node:crypto';
import { REDIS_URL, startTestApp, TestApp } from '../support/app';

interface Reply {
  readonly status: number;
  readonly body: any;
}

/** fetch keeps connections alive, so a thousand pairs cost requests, not handshakes. */
async function call(t: TestApp, method: 'GET' | 'POST', path: string, token?: string, body?: unknown): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${t.baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

async function must(t: TestApp, method: 'GET' | 'POST', path: string, token?: string, body?: unknown): Promise<any> {
  const reply = await call(t, method, path, token, body);
  if (reply.status >= 300) throw new Error(`${method} ${path}: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body;
}

/** Runs `count` tasks, `width` at a time. */
async function inParallel(count: number, width: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

describe('read-your-writes across three instances on one store and one Redis', () => {
  let apps: TestApp[] = [];
  /** Two different instances: the write goes to one, the read to the other. */
  const pair = (): [TestApp, TestApp] => {
    const i = Math.floor(Math.random() * apps.length);
    return [apps[i], apps[(i + 1 + Math.floor(Math.random() * (apps.length - 1))) % apps.length]];
  };

  beforeAll(async () => {
    // No X-Consistent-With anywhere below: the instances share only the store and Redis; one of them holds each projection's lease.
    const env = { REDIS_URL, REDIS_PREFIX: `eventmart-test:ryw:${randomUUID()}:`, PROJECTION_POLL_MS: '20', RATE_LIMIT_WRITE_PER_USER: '0', RATE_LIMIT_WRITE_PER_IP: '0' };
    const first = await startTestApp({ env });
    apps = [first, await startTestApp({ env, dataDir: first.dataDir }), await startTestApp({ env, dataDir: first.dataDir })];
  });
  afterAll(async () => {
    await Promise.all(apps.slice(1).map((t) => t.stop()));
    await apps[0]?.close();
  });

  it('shows every one of 1,000 charges in the read that follows it on another instance', async () => {
    const users = await Promise.all(Array.from({ length: 20 }, (_, i) => apps[0].tokenFor(`ryw-charger-${i}`)));
    const stale: string[] = [];
    await Promise.all(
      users.map(async (token) => {
        for (let n = 0; n < 50; n++) {
          const [writer, reader] = pair();
          const charged = await must(writer, 'POST', '/me/points/charge', token, { amount: 10 });
          const read = await must(reader, 'GET', '/me/points', token);
          if (read.balance !== charged.balance) stale.push(`${charged.userId}: charged to ${charged.balance}, read ${read.balance}`);
        }
      }),
    );
    expect(stale).toEqual([]);
  });

  it('shows a payment and a cancellation in the reads that follow them, and an admin its new product', async () => {
    const admin = await apps[0].tokenFor('ryw-admin', 'admin');
    const [creator, viewer] = pair();
    const product = await must(creator, 'POST', '/admin/products', admin, { name: 'Lamp', price: 100, stock: 1_000 });
    expect((await call(viewer, 'GET', `/products/${product.id}`, admin)).body).toMatchObject({ id: product.id, name: 'Lamp', stock: 1_000 });

    const stale: string[] = [];
    await inParallel(60, 10, async (i) => {
      const token = await apps[0].tokenFor(`ryw-buyer-${i}`);
      await must(pair()[0], 'POST', '/me/points/charge', token, { amount: 1_000 });
      const placed = await must(pair()[0], 'POST', '/orders', token, { items: [{ productId: product.id, quantity: 2 }] });

      const [payer, payReader] = pair();
      await must(payer, 'POST', `/orders/${placed.orderId}/payment`, token, {});
      const paid = await must(payReader, 'GET', `/me/orders/${placed.orderId}`, token);
      const afterPaying = await must(pair()[1], 'GET', '/me/points', token);
      if (paid.status !== 'PAID' || afterPaying.balance !== 800) stale.push(`${placed.orderId} after paying: ${paid.status}, ${afterPaying.balance} points`);

      const [canceller, cancelReader] = pair();
      await must(canceller, 'POST', `/orders/${placed.orderId}/cancel`, token);
      const cancelled = await must(cancelReader, 'GET', `/me/orders/${placed.orderId}`, token);
      const afterCancelling = await must(pair()[1], 'GET', '/me/points', token);
      if (cancelled.status !== 'CANCELLED' || afterCancelling.balance !== 1_000) stale.push(`${placed.orderId} after cancelling: ${cancelled.status}, ${afterCancelling.balance} points`);
    });
    expect(stale).toEqual([]);
  });

  it('shows a user writing on two instances in turn both writes on each', async () => {
    const token = await apps[0].tokenFor('ryw-alternating');
    let expected = 0;
    for (let round = 0; round < 20; round++) {
      const [a, b] = pair();
      await must(a, 'POST', '/me/points/charge', token, { amount: 1 });
      await must(b, 'POST', '/me/points/charge', token, { amount: 2 });
      expected += 3;
      const seen = await Promise.all([a, b].map(async (t) => (await must(t, 'GET', '/me/points', token)).balance));
      expect(seen).toEqual([expected, expected]);
    }
  });
});

describe('read-your-writes in one embedded instance', () => {
  let t: TestApp;
  beforeAll(async () => {
    // The projections run only when a test starts them: a write then stays unprojected for as long as it likes.
    t = await startTestApp({ env: { RUN_PROJECTIONS: 'false', CONSISTENCY_WAIT_MS: '300' } });
  });
  afterAll(async () => t?.close());

  it("counts a refused payment, which writes PaymentFailed, as the payer's own write", async () => {
    const [buyer, admin] = await Promise.all([t.tokenFor('ryw-refused'), t.tokenFor('ryw-refused-admin', 'admin')]);
    const product = await must(t, 'POST', '/admin/products', admin, { name: 'Chair', price: 1_000, stock: 10 });
    await must(t, 'POST', '/me/points/charge', buyer, { amount: 1_000 });
    // Both are placed while the points suffice; paying the second leaves nothing for the first.
    const [unpaid, paid] = [
      await must(t, 'POST', '/orders', buyer, { items: [{ productId: product.id, quantity: 1 }] }),
      await must(t, 'POST', '/orders', buyer, { items: [{ productId: product.id, quantity: 1 }] }),
    ];
    await must(t, 'POST', `/orders/${paid.orderId}/payment`, buyer, {});
    await t.app.projector.catchUp();

    const refused = await call(t, 'POST', `/orders/${unpaid.orderId}/payment`, buyer, {});
    expect(refused).toMatchObject({ status: 409, body: { code: 'POINTS_INSUFFICIENT' } });
    // Projected up to the refusal but not past it: the read must wait for the PaymentFailed it wrote.
    const read = await call(t, 'GET', `/me/orders/${unpaid.orderId}`, buyer);
    expect(read).toMatchObject({ status: 503, body: { code: 'CONSISTENCY_TIMEOUT' } });
    expect(refused.body.position).toBe(read.body.position);
    expect(refused.body.position > paid.position).toBe(true);

    await t.app.projector.catchUp();
    const shown = await must(t, 'GET', `/me/orders/${unpaid.orderId}`, buyer);
    expect(shown.statusHistory).toContainEqual(expect.objectContaining({ status: 'PAYMENT_FAILED', reason: 'POINTS_INSUFFICIENT' }));
  });

  it("answers a public read sent with a customer's token as an anonymous one, without looking up the customer's writes", async () => {
    const [customer, admin] = await Promise.all([t.tokenFor('ryw-browser'), t.tokenFor('ryw-catalogue-admin', 'admin')]);
    const product = await must(t, 'POST', '/admin/products', admin, { name: 'Shelf', price: 300, stock: 2 });
    await must(t, 'POST', '/me/points/charge', customer, { amount: 1_000 });
    await t.app.projector.catchUp();
    await must(t, 'GET', '/me/points', customer);
    // The customer's checkout takes one of the two off the shelf; nothing projects it.
    await must(t, 'POST', '/checkout', customer, { items: [{ productId: product.id, quantity: 1 }] });
    const lookups = jest.spyOn(t.app.services.sessions, 'latest');
    try {
      // The catalogue is not the customer's own data: the read neither waits nor looks.
      for (let i = 0; i < 3; i++) expect(await call(t, 'GET', `/products/${product.id}`, customer)).toMatchObject({ status: 200, body: { stock: 2 } });
      expect(lookups).not.toHaveBeenCalled();
      // An admin's token still counts: its own writes are the catalogue's.
      expect(await call(t, 'GET', `/products/${product.id}`, admin)).toMatchObject({ status: 200, body: { stock: 2 } });
      expect(lookups).toHaveBeenCalledWith('ryw-catalogue-admin');
    } finally {
      lookups.mockRestore();
    }
    await t.app.projector.catchUp();
  });

  it("waits for X-Consistent-With when it names a position later than the user's own write", async () => {
    const [reader, other] = await Promise.all([t.tokenFor('ryw-header-reader'), t.tokenFor('ryw-header-other')]);
    const own = await must(t, 'POST', '/me/points/charge', reader, { amount: 100 });
    const later = await must(t, 'POST', '/me/points/charge', other, { amount: 100 });
    await t.app.projector.catchUp(undefined, { until: own.position });
    const read = (consistentWith?: string) =>
      fetch(`${t.baseUrl}/me/points`, { headers: { authorization: `Bearer ${reader}`, ...(consistentWith ? { 'x-consistent-with': consistentWith } : {}) } }).then(
        async (res) => ({ status: res.status, body: await res.json() }),
      );

    expect(await read()).toEqual({ status: 200, body: { userId: 'ryw-header-reader', balance: 100 } });
    expect(await read(later.position)).toMatchObject({ status: 503, body: { code: 'CONSISTENCY_TIMEOUT', position: later.position } });
    await t.app.projector.catchUp();
    expect(await read(later.position)).toEqual({ status: 200, body: { userId: 'ryw-header-reader', balance: 100 } });
  });

  it("says in /openapi.json what is guaranteed (session consistency per user) and what is not (other users' writes)", async () => {
    const { info, paths } = await must(t, 'GET', '/openapi.json');
    expect(info.description).toContain('Reads are session-consistent per user');
    expect(info.description).toContain("Not guaranteed: other users' writes");
    expect(paths['/me/points'].get.parameters).toContainEqual(expect.objectContaining({ in: 'header', name: 'X-Consistent-With' }));
  });

  it('makes only the writer wait: others, and anonymous public reads, are answered at once from what is projected', async () => {
    const [writer, other, admin] = await Promise.all([t.tokenFor('ryw-writer'), t.tokenFor('ryw-other'), t.tokenFor('ryw-admin', 'admin')]);
    const charged = await must(t, 'POST', '/me/points/charge', writer, { amount: 500 });
    const product = await must(t, 'POST', '/admin/products', admin, { name: 'Desk', price: 900, stock: 3 });

    const waited = await call(t, 'GET', '/me/points', writer);
    expect(waited).toMatchObject({ status: 503, body: { code: 'CONSISTENCY_TIMEOUT', position: charged.position } });
    expect((await call(t, 'GET', `/products/${product.id}`, admin)).body).toMatchObject({ code: 'CONSISTENCY_TIMEOUT', position: product.position });
    // An earlier position in X-Consistent-With does not let the writer skip its own write.
    const earlier = await fetch(`${t.baseUrl}/me/points`, { headers: { authorization: `Bearer ${writer}`, 'x-consistent-with': '0' } });
    expect(earlier.status).toBe(503);

    expect(await call(t, 'GET', '/me/points', other)).toEqual({ status: 200, body: { userId: 'ryw-other', balance: 0 } });
    expect((await call(t, 'GET', `/products/${product.id}`)).status).toBe(404);
    expect((await call(t, 'GET', `/products/${product.id}`, 'not-a-token')).status).toBe(404);

    t.app.projector.start();
    expect(await call(t, 'GET', '/me/points', writer)).toEqual({ status: 200, body: { userId: 'ryw-writer', balance: 500 } });
    expect((await call(t, 'GET', `/products/${product.id}`, admin)).body).toMatchObject({ id: product.id, stock: 3 });
  });

  it('shows each of 200 charges in the read right after it', async () => {
    const token = await t.tokenFor('ryw-single');
    t.app.projector.start();
    const stale: number[] = [];
    for (let n = 0; n < 200; n++) {
      const charged = await must(t, 'POST', '/me/points/charge', token, { amount: 1 });
      const read = await must(t, 'GET', '/me/points', token);
      if (read.balance !== charged.balance) stale.push(charged.balance);
    }
    expect(stale).toEqual([]);
  });
});
