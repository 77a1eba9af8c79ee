import Ajv2020 from 'ajv/dist/2020';
import type { Middleware } from 'openapi-fetch';
import { ApiRefusal, apiClient, must } from '../../src/demo/client';
import { fillShop } from '../../src/demo/fill';
import { WELCOME } from '../../src/demo/shop';
import { startTestApp, TestApp } from '../support/app';

/** JSON pointer escaping (RFC 6901). */
const escape = (token: string) => token.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * Checks every answer against what the server's own /openapi.json says of it: the status is
 * documented for the operation, and the body validates against that status's schema (required
 * fields present, of their types, enums kept). The client's types come from the same document,
 * so a server that drifts from it fails here, and a document that drifts from the committed
 * types fails in openapi.test.ts.
 */
function documentedAnswers(doc: { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>> }, failures: string[]): Middleware {
  const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
  ajv.addSchema(doc, 'openapi.json');
  return {
    async onResponse({ request, response, schemaPath }) {
      const method = request.method.toLowerCase();
      const at = `${request.method} ${schemaPath} ${response.status}`;
      const documented = doc.paths[schemaPath]?.[method]?.responses[String(response.status)];
      if (!documented) return void failures.push(`${at}: status not documented`);
      const type = (response.headers.get('content-type') ?? '').split(';')[0];
      if (!documented.content?.[type]) return void failures.push(`${at}: ${type} not documented`);
      const pointer = `openapi.json#/paths/${escape(schemaPath)}/${method}/responses/${response.status}/content/${escape(type)}/schema`;
      const validate = ajv.compile({ $ref: pointer });
      if (!validate(await response.clone().json())) failures.push(`${at}: ${ajv.errorsText(validate.errors)}`);
    },
  };
}

describe('the typed client (types generated from /openapi.json) against a real server', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t.close());

  it('walks the demo shop: charge, get a coupon, check out, place and pay, read the orders; every answer as documented', async () => {
    const failures: string[] = [];
    const doc = (await t.http().get('/openapi.json')).body;
    const checked = documentedAnswers(doc, failures);
    const shop = await fillShop({ baseUrl: t.baseUrl });
    const { token } = await must(apiClient(t.baseUrl, undefined, checked).POST('/auth/dev-token', { body: { userId: 'erin', role: 'customer' } }));
    const erin = apiClient(t.baseUrl, token, checked);
    const keyboard = shop.products.get('Mechanical keyboard')!;
    const hub = shop.products.get('USB-C hub')!;

    const charged = await must(erin.POST('/me/points/charge', { body: { amount: 300_000 }, params: { header: { 'Idempotency-Key': 'erin-charge' } } }));
    expect(charged).toMatchObject({ userId: 'erin', balance: 300_000, charged: 300_000 });

    const welcome = shop.coupons.get(WELCOME)!;
    const issued = await must(erin.POST('/coupons/{couponId}/issue', { params: { path: { couponId: welcome.couponId } } }));
    expect(issued.couponId).toBe(welcome.couponId);

    const checkout = await must(erin.POST('/checkout', { body: { items: [{ productId: keyboard.id, quantity: 1 }], userCouponId: issued.userCouponId } }));
    expect(checkout).toMatchObject({ status: 'PAID', subtotal: keyboard.price, discount: 5_000, total: keyboard.price - 5_000 });

    const placed = await must(erin.POST('/orders', { body: { items: [{ productId: hub.id, quantity: 2 }] } }));
    expect(placed).toMatchObject({ status: 'PENDING', total: 2 * hub.price });
    const payer = { name: 'Erin Park', phone: '010-5555-0101', email: 'erin@example.com' };
    const paid = await must(erin.POST('/orders/{orderId}/payment', { params: { path: { orderId: placed.orderId } }, body: { payer } }));
    expect(paid.status).toBe('PAID');

    const order = await must(erin.GET('/me/orders/{orderId}', { params: { path: { orderId: placed.orderId } } }));
    expect(order).toMatchObject({ orderId: placed.orderId, status: 'PAID', payer, items: [{ productId: hub.id, name: 'USB-C hub', quantity: 2 }] });
    const mine = await must(erin.GET('/me/orders', { params: { query: { status: 'PAID' } } }));
    expect(mine.items.map((o) => o.orderId).sort()).toEqual([checkout.orderId, placed.orderId].sort());
    const points = await must(erin.GET('/me/points'));
    expect(points.balance).toBe(300_000 - checkout.total - paid.total);

    // A refusal is documented too, problem+json and all.
    const refusal = await must(erin.POST('/checkout', { body: { items: [{ productId: keyboard.id, quantity: 1000 }] } })).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ApiRefusal);
    expect((refusal as ApiRefusal).problem?.code).toBe('OUT_OF_STOCK');

    expect(failures).toEqual([]);
  });

  it('notices an answer the document does not describe', async () => {
    const failures: string[] = [];
    const doc = (await t.http().get('/openapi.json')).body;
    // The document of a server that promised one more field than it sends.
    doc.paths['/me/points'].get.responses['200'].content['application/json'].schema.required.push('tier');
    const { token } = await must(apiClient(t.baseUrl).POST('/auth/dev-token', { body: { userId: 'frank', role: 'customer' } }));
    await must(apiClient(t.baseUrl, token, documentedAnswers(doc, failures)).GET('/me/points'));
    expect(failures).toEqual([expect.stringContaining("must have required property 'tier'")]);
  });
});
