import { walletDecider } from '../../../src/write/wallet/decider';
import { WalletEvent } from '../../../src/write/wallet/events';
import { WalletCommand } from '../../../src/write/wallet/commands';
import { specFor } from '../../support/decider-spec';

const given = specFor(walletDecider);
const now = '2026-11-25T00:00:00.000Z';
const limits = { maxCharge: 1_000_000, balanceCap: 10_000_000 };
const userId = 'u1';

const charge = (amount: number): WalletCommand => ({ type: 'ChargePoints', data: { userId, amount, limits, now } });
const use = (amount: number, orderId = 'o1'): WalletCommand => ({ type: 'UsePoints', data: { userId, amount, orderId, now } });
const refund = (orderId = 'o1'): WalletCommand => ({ type: 'RefundPoints', data: { userId, orderId, now } });
const charged = (amount: number, balanceAfter: number): WalletEvent => ({
  type: 'PointsCharged',
  data: { userId, amount, balanceAfter, occurredAt: now },
});
const used = (amount: number, balanceAfter: number, orderId = 'o1'): WalletEvent => ({
  type: 'PointsUsed',
  data: { userId, amount, orderId, balanceAfter, occurredAt: now },
});
const refunded = (amount: number, balanceAfter: number, orderId = 'o1'): WalletEvent => ({
  type: 'PointsRefunded',
  data: { userId, amount, orderId, balanceAfter, occurredAt: now },
});

describe('wallet: charging points', () => {
  it('charges a new wallet', () => given().when(charge(500)).then([charged(500, 500)]));
  it('adds to the balance', () => given(charged(500, 500)).when(charge(250)).then([charged(250, 750)]));
  it('accepts exactly the largest single charge', () => given().when(charge(1_000_000)).then([charged(1_000_000, 1_000_000)]));
  it.each([0, -1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 2])('refuses the amount %p', (amount) =>
    given().when(charge(amount)).thenFails('POINTS_AMOUNT_INVALID'),
  );
  it('refuses more than the largest single charge', () => given().when(charge(1_000_001)).thenFails('POINTS_AMOUNT_INVALID'));
  it('reaches the balance cap exactly', () =>
    given(charged(1_000_000, 9_500_000)).when(charge(500_000)).then([charged(500_000, 10_000_000)]));
  it('refuses to pass the balance cap', () =>
    given(charged(1_000_000, 9_500_000)).when(charge(500_001)).thenFails('POINTS_BALANCE_LIMIT'));
});

describe('wallet: the balance cap counts points that paid orders can give back', () => {
  it('refuses a charge once the points in paid orders fill the cap, so a cancellation cannot pass it', () =>
    given(charged(1_000_000, 10_000_000), used(10_000_000, 0)).when(charge(1)).thenFails('POINTS_BALANCE_LIMIT'));
  it('charges up to the cap, counting the balance and the paid orders together', () =>
    given(charged(1_000_000, 6_000_000), used(4_000_000, 2_000_000)).when(charge(1_000_000)).then([charged(1_000_000, 3_000_000)]));
  it('refuses one point more than that', () =>
    given(charged(1_000_000, 10_000_000), used(4_000_000, 6_000_000)).when(charge(1)).thenFails('POINTS_BALANCE_LIMIT'));
  it('never refuses a refund: the cancelled order gives back what it used, up to the cap', () =>
    given(charged(1_000_000, 10_000_000), used(4_000_000, 6_000_000)).when(refund()).then([refunded(4_000_000, 10_000_000)]));
  it('never refuses a refund that passes the cap in a wallet charged before the cap counted paid orders', () =>
    given(charged(1_000_000, 10_000_000), used(10_000_000, 0), charged(1_000_000, 10_000_000)).when(refund()).then([refunded(10_000_000, 20_000_000)]));
  it('frees the room a refunded order held only as balance: charging stays refused at the cap', () =>
    given(charged(1_000_000, 10_000_000), used(4_000_000, 6_000_000), refunded(4_000_000, 10_000_000)).when(charge(1)).thenFails('POINTS_BALANCE_LIMIT'));
  it('makes no room by paying: the paid order still counts until it is cancelled', () =>
    given(charged(1_000_000, 10_000_000), used(4_000_000, 6_000_000), refunded(4_000_000, 10_000_000), used(3_000_000, 7_000_000, 'o2')).when(charge(1)).thenFails('POINTS_BALANCE_LIMIT'));
});

describe('wallet: using points for an order', () => {
  it('uses points the balance covers', () => given(charged(1000, 1000)).when(use(400)).then([used(400, 600)]));
  it('may use the whole balance', () => given(charged(1000, 1000)).when(use(1000)).then([used(1000, 0)]));
  it('refuses more than the balance', () => given(charged(1000, 1000)).when(use(1001)).thenFails('POINTS_INSUFFICIENT'));
  it('refuses an empty wallet', () => given().when(use(1)).thenFails('POINTS_INSUFFICIENT'));
  it('does nothing when the order already used points', () =>
    given(charged(1000, 1000), used(400, 600)).when(use(400)).thenNothingHappens());
  it('refuses a non-positive amount', () => given(charged(1000, 1000)).when(use(0)).thenFails('POINTS_AMOUNT_INVALID'));
});

describe('wallet: refunding an order', () => {
  it('gives back what the order used', () =>
    given(charged(1000, 1000), used(400, 600)).when(refund()).then([refunded(400, 1000)]));
  it('refunds once only', () =>
    given(charged(1000, 1000), used(400, 600), refunded(400, 1000)).when(refund()).thenNothingHappens());
  it('does nothing for an order that used no points', () => given(charged(1000, 1000)).when(refund('other')).thenNothingHappens());
  it('does not let a refunded order use points again', () =>
    given(charged(1000, 1000), used(400, 600), refunded(400, 1000)).when(use(400)).thenNothingHappens());
});
