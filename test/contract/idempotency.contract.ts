/**
 * The idempotency store port's contract. `make` returns one or more stores over one backend
 * (two processes sharing a file, two app instances sharing a Redis), `instances` of them; with
 * two or more, the tests also check that what one store does is seen by the other. Scopes carry a random suffix so a
 * shared backend can be reused.
 */
import { randomUUID } from 'node:crypto';
import { Claim, IdempotencyStore } from '../../src/shared/idempotency/port';
import { eventually } from '../support/eventually';

const DAY = 24 * 60 * 60 * 1000;
const RUNNING = 60_000;

export function idempotencyContract(make: () => Promise<readonly IdempotencyStore[]>, instances = 1): void {
  let stores: readonly IdempotencyStore[];
  let first: IdempotencyStore;
  let last: IdempotencyStore;
  let user: string;
  let key: string;

  beforeEach(async () => {
    stores = await make();
    expect(stores).toHaveLength(instances);
    first = stores[0];
    last = stores[stores.length - 1];
    user = `user-${randomUUID()}`;
    key = randomUUID();
  });
  afterEach(async () => {
    await Promise.all(stores.map((store) => store.close()));
  });

  it('answers ping', async () => {
    await expect(first.ping()).resolves.toBeUndefined();
  });

  it('claims a fresh key, then refuses it while in flight and replays it once done', async () => {
    expect(await first.claim(user, key, 'body-a', RUNNING)).toEqual({ outcome: 'claimed' });
    expect(await last.claim(user, key, 'body-a', RUNNING)).toEqual({ outcome: 'in_flight' });

    const response = { status: 201, body: { orderId: 'o-1', items: [{ n: 1 }], note: 'ü' } };
    await first.complete(user, key, 'body-a', response, DAY);
    expect(await last.claim(user, key, 'body-a', RUNNING)).toEqual({ outcome: 'replay', response });
    expect(await first.claim(user, key, 'body-a', RUNNING)).toEqual({ outcome: 'replay', response });
  });

  it('refuses the same key with another body, in flight and done', async () => {
    await first.claim(user, key, 'body-a', RUNNING);
    expect(await last.claim(user, key, 'body-b', RUNNING)).toEqual({ outcome: 'mismatch' });
    await first.complete(user, key, 'body-a', { status: 200, body: null }, DAY);
    expect(await last.claim(user, key, 'body-b', RUNNING)).toEqual({ outcome: 'mismatch' });
  });

  it('keeps keys per scope: two users with one key do not meet', async () => {
    const other = `user-${randomUUID()}`;
    expect(await first.claim(user, key, 'body-a', RUNNING)).toEqual({ outcome: 'claimed' });
    expect(await last.claim(other, key, 'body-b', RUNNING)).toEqual({ outcome: 'claimed' });

    await first.complete(user, key, 'body-a', { status: 200, body: { who: 'user' } }, DAY);
    expect(await first.claim(other, key, 'body-b', RUNNING)).toEqual({ outcome: 'in_flight' });
    await last.complete(other, key, 'body-b', { status: 200, body: { who: 'other' } }, DAY);

    expect(await last.claim(user, key, 'body-a', RUNNING)).toEqual({
      outcome: 'replay',
      response: { status: 200, body: { who: 'user' } },
    });
    expect(await first.claim(other, key, 'body-b', RUNNING)).toEqual({
      outcome: 'replay',
      response: { status: 200, body: { who: 'other' } },
    });
  });

  it('frees the key on release, for any body', async () => {
    await first.claim(user, key, 'body-a', RUNNING);
    await first.release(user, key, 'body-a');
    expect(await last.claim(user, key, 'body-b', RUNNING)).toEqual({ outcome: 'claimed' });
  });

  it('neither completes nor frees a running claim for another body', async () => {
    await first.claim(user, key, 'body-a', RUNNING);
    await last.complete(user, key, 'body-b', { status: 200, body: 'other' }, DAY);
    await last.release(user, key, 'body-b');
    expect(await last.claim(user, key, 'body-a', RUNNING)).toEqual({ outcome: 'in_flight' });
    expect(await first.claim(user, key, 'body-b', RUNNING)).toEqual({ outcome: 'mismatch' });
  });

  it('keeps the first response: a second complete or a release afterwards changes nothing', async () => {
    await first.claim(user, key, 'body-a', RUNNING);
    await first.complete(user, key, 'body-a', { status: 201, body: 'first' }, DAY);
    await last.complete(user, key, 'body-a', { status: 500, body: 'second' }, DAY);
    await last.release(user, key, 'body-a');
    expect(await last.claim(user, key, 'body-a', RUNNING)).toEqual({
      outcome: 'replay',
      response: { status: 201, body: 'first' },
    });
  });

  it('keeps the response of a claim that expired before it completed', async () => {
    await first.claim(user, key, 'body-a', 20);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await first.complete(user, key, 'body-a', { status: 201, body: 'late' }, DAY);
    expect(await last.claim(user, key, 'body-a', RUNNING)).toEqual({
      outcome: 'replay',
      response: { status: 201, body: 'late' },
    });
  });

  it('lets an in-flight claim expire after inFlightMs', async () => {
    expect(await first.claim(user, key, 'body-a', 50)).toEqual({ outcome: 'claimed' });
    const outcomes: Claim['outcome'][] = [];
    await eventually(
      async () => (await last.claim(user, key, 'body-a', RUNNING)).outcome,
      (outcome) => (outcomes.push(outcome), outcome === 'claimed'),
    );
    expect(outcomes[0]).toBe('in_flight');
  });

  it('forgets a completed response after ttlMs', async () => {
    await first.claim(user, key, 'body-a', RUNNING);
    await first.complete(user, key, 'body-a', { status: 200, body: 1 }, 50);
    await eventually(
      async () => (await last.claim(user, key, 'body-b', RUNNING)).outcome,
      (outcome) => outcome === 'claimed',
    );
  });

  it('grants exactly one of 50 concurrent claims of one key', async () => {
    const claims = await Promise.all(
      Array.from({ length: 50 }, (_, i) => stores[i % stores.length].claim(user, key, 'body-a', RUNNING)),
    );
    const outcomes = claims.map((claim) => claim.outcome);
    expect(outcomes.filter((outcome) => outcome === 'claimed')).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome === 'in_flight')).toHaveLength(49);
  });

  it('does not let a claim that expired overwrite or free a newer claim for another body', async () => {
    await first.claim(user, key, 'body-a', 50);
    await eventually(
      async () => (await last.claim(user, key, 'body-b', RUNNING)).outcome,
      (outcome) => outcome === 'claimed',
    );
    await first.complete(user, key, 'body-a', { status: 200, body: 'stale' }, DAY);
    await first.release(user, key, 'body-a');
    expect(await last.claim(user, key, 'body-b', RUNNING)).toEqual({ outcome: 'in_flight' });
    await last.complete(user, key, 'body-b', { status: 201, body: 'fresh' }, DAY);
    expect(await first.claim(user, key, 'body-b', RUNNING)).toEqual({
      outcome: 'replay',
      response: { status: 201, body: 'fresh' },
    });
  });

  it('does not let a claim that expired overwrite or free the response of a newer claim for the same body', async () => {
    await first.claim(user, key, 'body-a', 50);
    await eventually(
      async () => (await last.claim(user, key, 'body-a', RUNNING)).outcome,
      (outcome) => outcome === 'claimed',
    );
    await last.complete(user, key, 'body-a', { status: 201, body: 'fresh' }, DAY);
    await first.complete(user, key, 'body-a', { status: 200, body: 'stale' }, DAY);
    await first.release(user, key, 'body-a');
    expect(await first.claim(user, key, 'body-a', RUNNING)).toEqual({
      outcome: 'replay',
      response: { status: 201, body: 'fresh' },
    });
  });
}
