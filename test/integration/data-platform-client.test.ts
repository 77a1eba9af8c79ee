import { createServer as createHttpServer, IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo, createServer } from 'node:net';
import { BrokenCircuitError } from 'cockatiel';
import pino from 'pino';
import { DataPlatformClient, DataPlatformClientOptions, DeliveryFailed } from '../../src/data-platform/client';
import { MockDataPlatform } from '../../src/data-platform/mock-server';
import { OrderPayload } from '../../src/data-platform/payload';
import { backoffDelay } from '../../src/data-platform/workers';
import { eventually } from './data-platform.support';

const logger = pino({ level: 'silent' });

const payload = (eventId: string): OrderPayload => ({
  eventId,
  eventType: 'OrderPaid',
  orderId: 'o-1',
  userId: 'u-1',
  orderType: 'NORMAL',
  status: 'PAID',
  lines: [{ kind: 'PRODUCT', productId: 'p-1', name: 'Pen', unitPrice: 1000, quantity: 2, amount: 2000 }],
  couponId: null,
  subtotal: 2000,
  discount: 0,
  total: 2000,
  placedAt: '2025-01-01T00:00:00.000Z',
  paidAt: '2025-01-01T00:00:01.000Z',
  cancelledAt: null,
  occurredAt: '2025-01-01T00:00:01.000Z',
});

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const failure = async (promise: Promise<unknown>) => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!error) throw new Error('expected the send to fail');
  return error;
};

describe('data platform client against the mock', () => {
  let mock: MockDataPlatform;
  const options: DataPlatformClientOptions = { timeoutMs: 200, breakerFailures: 3, halfOpenAfterMs: 150 };
  beforeEach(async () => {
    mock = await MockDataPlatform.start();
  });
  afterEach(async () => mock.close());

  it('POSTs the order with the event id as Idempotency-Key; the mock counts it', async () => {
    await new DataPlatformClient(mock.url, options, logger).send('evt-1', payload('evt-1'));
    const { deliveries, received, accepted } = mock.state();
    expect({ received, accepted }).toEqual({ received: 1, accepted: 1 });
    expect(deliveries['evt-1']).toEqual({ received: 1, accepted: 1, payload: payload('evt-1') });
  });

  it('says what went wrong: a 5xx, no answer in time, nothing listening', async () => {
    mock.setMode('down');
    const down = await failure(new DataPlatformClient(mock.url, options, logger).send('k', payload('k')));
    expect(down).toBeInstanceOf(DeliveryFailed);
    expect(down).toMatchObject({ platformDown: true, message: 'the data platform answered 503' });

    mock.setMode('slow', 5_000);
    const slow = await failure(new DataPlatformClient(mock.url, options, logger).send('s', payload('s')));
    expect(slow).toMatchObject({ platformDown: true, message: 'no answer within 200 ms' });
    // The client gave up before an answer: the mock must not count a 2xx for it.
    await eventually(
      () => mock.state().deliveries.s,
      (record) => record?.received === 1,
    );
    expect(mock.state().deliveries.s.accepted).toBe(0);

    const refused = await failure(new DataPlatformClient(`http://127.0.0.1:${await closedPort()}`, options, logger).send('r', payload('r')));
    expect(refused).toMatchObject({ platformDown: true, message: 'could not reach the data platform (ECONNREFUSED)' });
  });

  it('opens the breaker after consecutive failures: no requests until a trial one after the pause succeeds', async () => {
    const client = new DataPlatformClient(mock.url, options, logger);
    mock.setMode('down');
    for (let i = 0; i < options.breakerFailures; i++) {
      expect(await failure(client.send(`d${i}`, payload(`d${i}`)))).toBeInstanceOf(DeliveryFailed);
    }
    expect(client.pausedFor()).toBeGreaterThan(0);
    expect(await failure(client.send('refused', payload('refused')))).toBeInstanceOf(BrokenCircuitError);
    expect(mock.state().received).toBe(options.breakerFailures);

    mock.setMode('up');
    await eventually(
      () => client.pausedFor(),
      (ms) => ms === 0,
    );
    await client.send('trial', payload('trial'));
    await client.send('after', payload('after'));
    expect(mock.state().accepted).toBe(2);
  });

  it('opens again at once when the trial request fails', async () => {
    const client = new DataPlatformClient(mock.url, options, logger);
    mock.setMode('down');
    for (let i = 0; i < options.breakerFailures; i++) await failure(client.send(`d${i}`, payload(`d${i}`)));
    await eventually(
      () => client.pausedFor(),
      (ms) => ms === 0,
    );
    expect(await failure(client.send('trial', payload('trial')))).toBeInstanceOf(DeliveryFailed);
    expect(await failure(client.send('next', payload('next')))).toBeInstanceOf(BrokenCircuitError);
    expect(mock.state().received).toBe(options.breakerFailures + 1);
  });

  it('never opens the breaker for 4xx answers: the platform is up, the request is refused', async () => {
    const client = new DataPlatformClient(`${mock.url}/no-such-prefix`, options, logger);
    for (let i = 0; i < options.breakerFailures * 2; i++) {
      expect(await failure(client.send(`x${i}`, payload(`x${i}`)))).toMatchObject({ platformDown: false, message: 'the data platform answered 404' });
    }
    expect(client.pausedFor()).toBe(0);
  });
});

interface Received {
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A bare HTTP server that counts the TCP connections it is given and records each request. */
async function platformServer(answer: (req: IncomingMessage, res: ServerResponse) => void) {
  const received: Received[] = [];
  const sockets = { opened: 0, closed: 0 };
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      answer(req, res);
    });
  });
  // Longer than any test: only the client may end a kept-alive connection.
  server.keepAliveTimeout = 60_000;
  server.on('connection', (socket) => {
    sockets.opened++;
    socket.on('close', () => sockets.closed++);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    sockets,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** Rejects if `promise` has not settled within `ms`: a generous bound, only there so a hang fails the test. */
const settlesWithin = <T>(ms: number, promise: Promise<T>): Promise<T> =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms).unref())]);

describe('data platform client over HTTP', () => {
  const options: DataPlatformClientOptions = { timeoutMs: 200, breakerFailures: 100, halfOpenAfterMs: 150 };
  const cleanup: Array<() => unknown> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });
  const serve = async (answer: (req: IncomingMessage, res: ServerResponse) => void) => {
    const server = await platformServer(answer);
    cleanup.push(server.close);
    return server;
  };
  const clientOf = (url: string) => {
    const client = new DataPlatformClient(url, options, logger);
    cleanup.push(() => client.close());
    return client;
  };

  it('sends the JSON body with its byte length, the content type and the Idempotency-Key', async () => {
    const server = await serve((_req, res) => res.writeHead(201).end());
    // Not ASCII: a length counted in characters would cut the body short.
    const order = { ...payload('evt-1'), lines: [{ ...payload('x').lines[0], name: 'Füller ✒' }] };
    await clientOf(server.url).send('evt-1', order);

    expect(server.received).toHaveLength(1);
    const [{ url, headers, body }] = server.received;
    expect(url).toBe('/orders');
    expect(headers).toMatchObject({ 'content-type': 'application/json', 'idempotency-key': 'evt-1', 'content-length': String(Buffer.byteLength(body)) });
    expect(JSON.parse(body)).toEqual(order);
  });

  it('gives up on a platform that never answers after about the timeout, as platform down, and drops that connection', async () => {
    const server = await serve(() => undefined);
    const error = await settlesWithin(5_000, failure(clientOf(server.url).send('held', payload('held'))));
    expect(error).toBeInstanceOf(DeliveryFailed);
    expect(error).toMatchObject({ platformDown: true, message: 'no answer within 200 ms' });
    expect(server.received).toHaveLength(1);
    await eventually(
      () => server.sockets.closed,
      (closed) => closed === 1,
    );
  });

  it.each([
    [503, true],
    [500, true],
    [429, true],
    [408, true],
    [400, false],
    [404, false],
    [409, false],
  ])('takes a %i as a failure, platform down: %s', async (status, platformDown) => {
    const server = await serve((_req, res) => res.writeHead(status, { 'content-type': 'application/json' }).end('{"error":"no"}'));
    const error = await failure(clientOf(server.url).send('k', payload('k')));
    expect(error).toBeInstanceOf(DeliveryFailed);
    expect(error).toMatchObject({ platformDown, message: `the data platform answered ${status}` });
  });

  it('resolves on any 2xx', async () => {
    const server = await serve((req, res) => res.writeHead(Number(req.headers['idempotency-key'])).end());
    const client = clientOf(server.url);
    for (const status of ['200', '202', '204']) await client.send(status, payload(status));
    expect(server.received).toHaveLength(3);
  });

  it('reuses one connection for sequential sends, whether they succeed or fail', async () => {
    // Bodies on every answer, so a client that did not read them could not reuse the socket.
    const server = await serve((req, res) => {
      const ok = Number(req.headers['idempotency-key']) % 2 === 0;
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ accepted: ok, padding: 'x'.repeat(64 * 1024) }));
    });
    const client = clientOf(server.url);
    for (let i = 0; i < 5; i++) {
      await client.send(String(i), payload(String(i))).catch((error: unknown) => expect(error).toMatchObject({ platformDown: true }));
    }
    expect(server.received).toHaveLength(5);
    expect(server.sockets.opened).toBe(1);
  });

  it('closes its kept-alive connections on close()', async () => {
    const server = await serve((_req, res) => res.writeHead(200).end());
    const client = new DataPlatformClient(server.url, options, logger);
    await client.send('k', payload('k'));
    expect(server.sockets).toEqual({ opened: 1, closed: 0 });
    client.close();
    await eventually(
      () => server.sockets.closed,
      (closed) => closed === 1,
    );
  });
});

describe('mock data platform control API', () => {
  let mock: MockDataPlatform;
  beforeEach(async () => {
    mock = await MockDataPlatform.start();
  });
  afterEach(async () => mock.close());

  const post = (key: string | undefined, body: string) =>
    fetch(`${mock.url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) }, body });

  it('switches mode over HTTP and reports the counts; duplicates are accepted and counted', async () => {
    const put = await fetch(`${mock.url}/_mock/mode`, { method: 'PUT', body: JSON.stringify({ mode: 'down' }) });
    expect(put.status).toBe(200);
    expect((await post('k1', '{"a":1}')).status).toBe(503);
    await fetch(`${mock.url}/_mock/mode`, { method: 'PUT', body: JSON.stringify({ mode: 'up' }) });
    expect(await (await post('k1', '{"a":1}')).json()).toEqual({ accepted: true, duplicate: false });
    expect(await (await post('k1', '{"a":2}')).json()).toEqual({ accepted: true, duplicate: true });
    const state = await (await fetch(`${mock.url}/_mock`)).json();
    expect(state).toEqual({ mode: 'up', slowMs: 30_000, received: 3, accepted: 2, deliveries: { k1: { received: 3, accepted: 2, payload: { a: 2 } } } });

    expect((await fetch(`${mock.url}/_mock/reset`, { method: 'POST' })).status).toBe(200);
    expect(mock.state()).toMatchObject({ received: 0, accepted: 0, deliveries: {} });
  });

  it('answers about half of the orders with a 500 in flaky mode', async () => {
    mock.setMode('flaky');
    const statuses = await Promise.all(Array.from({ length: 200 }, (_, i) => post(`f${i}`, '{}').then((r) => r.status)));
    const failed = statuses.filter((s) => s === 500).length;
    expect(statuses.filter((s) => s !== 500 && s !== 200)).toEqual([]);
    expect(failed).toBeGreaterThan(50);
    expect(failed).toBeLessThan(150);
  });

  it('refuses an order without a key or a JSON body, and an unknown mode', async () => {
    expect((await post(undefined, '{}')).status).toBe(400);
    expect((await post('k', 'not json')).status).toBe(400);
    expect((await fetch(`${mock.url}/_mock/mode`, { method: 'PUT', body: JSON.stringify({ mode: 'sideways' }) })).status).toBe(400);
    expect(mock.state().received).toBe(0);
  });
});

describe('backoff between attempts', () => {
  it('doubles from the base up to the cap, half fixed and half jitter', () => {
    expect(backoffDelay(1, 100, 10_000, () => 0)).toBe(50);
    expect(backoffDelay(1, 100, 10_000, () => 1)).toBe(100);
    expect(backoffDelay(4, 100, 10_000, () => 0)).toBe(400);
    expect(backoffDelay(4, 100, 10_000, () => 1)).toBe(800);
    expect(backoffDelay(40, 100, 10_000, () => 0.5)).toBe(7_500);
    const spread = new Set(Array.from({ length: 20 }, () => backoffDelay(3, 100, 10_000)));
    expect(spread.size).toBeGreaterThan(1);
  });
});
