import { Decider, unreachable } from '../../shared/domain/decider';
import { DomainError } from '../../shared/domain/errors';
import { CouponCommand, CreateCoupon, IssueCoupon } from './commands';
import { CouponCreated, CouponEvent } from './events';
import { PersistentMap } from '../../shared/domain/persistent-map';
import { couponTermProblems } from './term-rules';

export type CouponDefinition = CouponCreated['data'];

export interface UserCoupon {
  readonly userCouponId: string;
  readonly couponId: string;
  readonly userId: string;
  readonly issuedAt: string;
  /** Null: never expires. */
  readonly validUntil: string | null;
  /**
   * The order that spent it, or null while it is free to use, as far as this stream tells: since
   * uses have their own streams (src/write/usercoupon) only logs from before hold any here.
   */
  readonly usedBy: string | null;
  readonly usedAt: string | null;
}

/**
 * A campaign's stream holds its creation and every issue: "one per user" and "no more than the
 * quantity" are then checked against one state and guarded by one expected revision. Its terms
 * never change once created and an issue is for good, so orders read it without writing to it.
 */
export interface CouponState {
  readonly coupon: CouponDefinition | null;
  /** By user id (one each); its size is the issued quantity. */
  readonly holders: PersistentMap<UserCoupon>;
}

export const couponStream = (couponId: string) => `coupon-${couponId}`;

/**
 * A user holds at most one of each coupon, so the user coupon id is derived, not drawn:
 * `<couponId>:<userId>`. Orders receive only this id from the client and find the campaign
 * stream and the user coupon's own stream from it. User ids never contain ':' (see
 * userIdSchema), so the last ':' splits it.
 */
export const userCouponIdOf = (couponId: string, userId: string) => `${couponId}:${userId}`;

export function parseUserCouponId(userCouponId: string): { couponId: string; userId: string } | null {
  const at = userCouponId.lastIndexOf(':');
  if (at <= 0 || at === userCouponId.length - 1) return null;
  return { couponId: userCouponId.slice(0, at), userId: userCouponId.slice(at + 1) };
}

/** Valid until `validUntil`, exclusive. */
export const isValidAt = (validUntil: string | null, now: string) => validUntil === null || Date.parse(now) < Date.parse(validUntil);

const DAY_MS = 86_400_000;

/** Shared with the issue gate, which refuses what the decider would refuse without reaching the store. */
export const couponErrors = {
  notFound: (couponId: string) => new DomainError('COUPON_NOT_FOUND', 'not_found', `there is no coupon ${couponId}`, { couponId }),
  notIssuable: (coupon: CouponDefinition) =>
    new DomainError('COUPON_NOT_ISSUABLE', 'conflict', 'the coupon cannot be issued now', {
      couponId: coupon.couponId,
      issueStartsAt: coupon.issueStartsAt,
      issueEndsAt: coupon.issueEndsAt,
      validUntil: coupon.validUntil,
    }),
  alreadyIssued: (couponId: string) =>
    new DomainError('COUPON_ALREADY_ISSUED', 'conflict', 'you already hold this coupon', { couponId }),
  soldOut: (couponId: string) => new DomainError('COUPON_SOLD_OUT', 'conflict', 'every coupon has been issued', { couponId }),
};

/** Inside [issueStartsAt, issueEndsAt), and not past a fixed validUntil (a coupon nobody could use). */
export function requireIssuable(coupon: CouponDefinition, now: string): void {
  const at = Date.parse(now);
  const before = (iso: string | null) => iso !== null && at < Date.parse(iso);
  const atOrAfter = (iso: string | null) => iso !== null && at >= Date.parse(iso);
  if (before(coupon.issueStartsAt) || atOrAfter(coupon.issueEndsAt) || atOrAfter(coupon.validUntil)) {
    throw couponErrors.notIssuable(coupon);
  }
}

/** The user coupon `userCouponId` names, if this campaign issued it. */
export function issuedIn(state: CouponState, userCouponId: string): UserCoupon | undefined {
  const parsed = parseUserCouponId(userCouponId);
  if (parsed === null || parsed.couponId !== state.coupon?.couponId) return undefined;
  return state.holders.get(parsed.userId);
}

function create({ data }: CreateCoupon, state: CouponState): CouponEvent[] {
  if (state.coupon !== null) throw new DomainError('COUPON_ALREADY_EXISTS', 'conflict', `coupon ${data.couponId} already exists`);
  const { couponId, now, ...terms } = data;
  const problems = couponTermProblems(terms, now);
  if (problems.length > 0) throw new DomainError('COUPON_INVALID', 'invalid', problems.join('; '), { problems });
  return [{ type: 'CouponCreated', data: { couponId, ...terms, name: terms.name.trim(), occurredAt: now } }];
}

function issue({ data }: IssueCoupon, state: CouponState): CouponEvent[] {
  const { coupon } = state;
  if (coupon === null) throw couponErrors.notFound(data.couponId);
  requireIssuable(coupon, data.now);
  if (state.holders.has(data.userId)) throw couponErrors.alreadyIssued(coupon.couponId);
  if (state.holders.size >= coupon.totalQuantity) throw couponErrors.soldOut(coupon.couponId);
  const validUntil =
    coupon.validUntil ?? (coupon.validDays === null ? null : new Date(Date.parse(data.now) + coupon.validDays * DAY_MS).toISOString());
  return [
    {
      type: 'CouponIssued',
      data: {
        couponId: coupon.couponId,
        userCouponId: userCouponIdOf(coupon.couponId, data.userId),
        userId: data.userId,
        validUntil,
        issuedQuantity: state.holders.size + 1,
        occurredAt: data.now,
      },
    },
  ];
}

const initialState: CouponState = { coupon: null, holders: PersistentMap.empty() };

export const couponDecider: Decider<CouponCommand, CouponEvent, CouponState> = {
  category: 'coupon',
  initialState,
  decide(command, state) {
    switch (command.type) {
      case 'CreateCoupon':
        return create(command, state);
      case 'IssueCoupon':
        return issue(command, state);
      default:
        return unreachable(command);
    }
  },
  evolve(state, event) {
    switch (event.type) {
      case 'CouponCreated':
        return { ...state, coupon: event.data };
      case 'CouponIssued': {
        const { couponId, userCouponId, userId, validUntil, occurredAt } = event.data;
        const issued: UserCoupon = { userCouponId, couponId, userId, issuedAt: occurredAt, validUntil, usedBy: null, usedAt: null };
        return { ...state, holders: state.holders.set(userId, issued) };
      }
      case 'CouponUsed': {
        const held = state.holders.get(event.data.userId)!;
        return { ...state, holders: state.holders.set(held.userId, { ...held, usedBy: event.data.orderId, usedAt: event.data.occurredAt }) };
      }
      case 'CouponRestored': {
        const held = state.holders.get(event.data.userId)!;
        return { ...state, holders: state.holders.set(held.userId, { ...held, usedBy: null, usedAt: null }) };
      }
      default:
        return unreachable(event);
    }
  },
};
