import { fold } from '../../../src/shared/domain/decider';
import { ForgetPaymentData, PaymentDataForgotten, privacyDecider } from '../../../src/write/privacy/decider';
import { specFor } from '../../support/decider-spec';

const given = specFor(privacyDecider);
const now = '2026-11-25T01:00:00.000Z';
const later = '2026-11-26T01:00:00.000Z';
const forget = (keyId: string | null, at = now): ForgetPaymentData => ({ type: 'ForgetPaymentData', data: { userId: 'u1', keyId, now: at } });
const forgotten = (keyId: string | null, at = now): PaymentDataForgotten => ({ type: 'PaymentDataForgotten', data: { userId: 'u1', keyId, occurredAt: at } });

describe('privacy: forgetting payment data', () => {
  it('records which data key was destroyed', () => given().when(forget('k1')).then([forgotten('k1')]));
  it('records the request for a user who had no key', () => given().when(forget(null)).then([forgotten(null)]));
  it('records a second request too: each is its own audit fact', () =>
    given(forgotten('k1')).when(forget(null, later)).then([forgotten(null, later)]));
  it('counts the requests', () =>
    expect(fold(privacyDecider, privacyDecider.initialState, [forgotten('k1'), forgotten(null, later)])).toEqual({ forgotten: 2 }));
});
