/**
 * HTTP tests in the decider specs' form: given these requests (each must succeed, or answer the
 * status `answering` names), when this request, then this answer and these new events in the log.
 *
 *   await httpSpec(t)
 *     .given(as('alice').post('/me/points/charge', { amount: 1000 }))
 *     .when(as('alice').post('/me/points/charge', { amount: 250 }))
 *     .then(200, { balance: 1250 }, [{ type: 'PointsCharged', data: { amount: 250, balanceAfter: 1250 } }]);
 *
 * New events are compared by type, stream and the data given, never by id or position, so a
 * spec says what the rule writes and not where the log happens to be.
 */
import { Response } from 'supertest';
import { Role } from '../../src/shared/auth/tokens';
import { ErrorCode } from '../../src/shared/http/problem';
import { bearer, TestApp } from './app';

export interface HttpCall {
  readonly method: 'get' | 'post' | 'patch' | 'delete';
  readonly path: string;
  /** A JSON body, or a raw string sent as it is (with the Content-Type the headers give). */
  readonly body?: object | string;
  /** Who sends it; anonymous when absent. */
  readonly caller?: { readonly userId: string; readonly role: Role };
  readonly headers?: Readonly<Record<string, string>>;
  /** The status a given request must answer; any 2xx when absent. */
  readonly answers?: number;
}

/** A new event as the spec expects it: its type, and the part of its stream and data that matters. */
export interface ExpectedEvent {
  readonly type: string;
  readonly stream?: string;
  readonly data?: Readonly<Record<string, unknown>>;
}

/** Requests made by one caller (`anonymous` for none). */
export function as(userId: string | 'anonymous', role: Role = 'customer') {
  const caller = userId === 'anonymous' ? undefined : { userId, role };
  const call = (method: HttpCall['method']) => (path: string, body?: object | string, headers?: Readonly<Record<string, string>>): HttpCall => ({ method, path, body, caller, headers });
  return { get: call('get'), post: call('post'), patch: call('patch'), delete: call('delete') };
}

/** A given request that must answer this status (a refusal that is part of the story, e.g. to be replayed). */
export const answering = (status: number, call: HttpCall): HttpCall => ({ ...call, answers: status });

export function httpSpec(t: TestApp) {
  const send = async (call: HttpCall): Promise<Response> => {
    let req = t.http()[call.method](call.path);
    if (call.caller) req = req.set(bearer(await t.tokenFor(call.caller.userId, call.caller.role)));
    if (call.headers) req = req.set(call.headers);
    return call.body === undefined ? req : req.send(call.body);
  };
  return {
    given: (...calls: HttpCall[]) => ({
      when: (call: HttpCall) => ({
        /** The answer's status and the part of its body that matters; then exactly these new events, in order. */
        async then(status: number, body?: unknown, events?: readonly ExpectedEvent[]): Promise<Response> {
          for (const given of calls) {
            const res = await send(given);
            if (given.answers === undefined ? res.status >= 300 : res.status !== given.answers) throw new Error(`given ${given.method.toUpperCase()} ${given.path} answered ${res.status}: ${res.text}`);
          }
          const before = await t.app.services.events.headPosition();
          const res = await send(call);
          expect(res.status).toBe(status);
          if (body !== undefined) expect(res.body).toMatchObject(body as object);
          if (events !== undefined) {
            const written = await t.app.services.events.readAll(before, 1_000);
            expect(written.map(({ type, stream, data }) => ({ type, stream, data }))).toEqual(
              events.map((event) => ({
                type: event.type,
                stream: event.stream ?? expect.any(String),
                data: event.data ? expect.objectContaining(event.data) : expect.anything(),
              })),
            );
          }
          return res;
        },
        /** A refusal: this status and code as problem+json (plus the part of the body given), and not one new event. */
        async thenRefused(status: number, code: ErrorCode, body: Readonly<Record<string, unknown>> = {}): Promise<Response> {
          const res = await this.then(status, { status, code, type: expect.any(String), title: expect.any(String), detail: expect.any(String), ...body }, []);
          expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
          return res;
        },
      }),
    }),
  };
}
