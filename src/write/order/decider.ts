import { Decider, unreachable } from '../../shared/domain/decider';
import { DomainError } from '../../shared/domain/errors';
import { CancelOrder, MarkPaid, OrderCommand, PlaceOrder, RecordPaymentFailure } from './commands';
import { AppliedCoupon, OrderEvent, OrderLine, OrderPlaced, OrderType, SealedPayer } from './events';

export type OrderStatus = 'PENDING' | 'PAID' | 'CANCELLED';

export interface StatusChange {
  readonly status: OrderStatus | 'PAYMENT_FAILED';
  readonly at: string;
  readonly reason?: string;
}

export type OrderState =
  | { readonly exists: false }
  | {
      readonly exists: true;
      readonly orderId: string;
      readonly userId: string;
      readonly orderType: OrderType;
      readonly status: OrderStatus;
      readonly lines: readonly OrderLine[];
      readonly coupon: AppliedCoupon | null;
      readonly subtotal: number;
      readonly discount: number;
      readonly total: number;
      readonly placedAt: string;
      /** Unpaid by then, it cannot be paid any more (it shows as EXPIRED; it can still be cancelled). */
      readonly expiresAt: string;
      readonly paidAt: string | null;
      readonly cancelledAt: string | null;
      readonly payer: SealedPayer | null;
      readonly history: readonly StatusChange[];
    };

export type PlacedOrder = Extract<OrderState, { exists: true }>;

export const orderStream = (orderId: string) => `order-${orderId}`;

export const MAX_LINES = 50;

/** Orders placed before the expiry was recorded get the default time to pay, the same on every replay. */
const LEGACY_PAYMENT_TTL_MS = 30 * 60_000;
const expiryOf = (placed: OrderPlaced['data']) => placed.expiresAt ?? new Date(Date.parse(placed.occurredAt) + LEGACY_PAYMENT_TTL_MS).toISOString();

/** A pending order past its expiry: what a read shows as EXPIRED, computed against the clock. */
export const isExpired = (order: { readonly status: OrderStatus; readonly expiresAt: string }, now: Date) =>
  order.status === 'PENDING' && now.getTime() >= Date.parse(order.expiresAt);

function place({ data }: PlaceOrder, state: OrderState): OrderEvent[] {
  if (state.exists) throw new DomainError('ORDER_ALREADY_EXISTS', 'conflict', `order ${data.orderId} exists already`);
  if (data.lines.length === 0 || data.lines.length > MAX_LINES) {
    throw new DomainError('ORDER_INVALID', 'invalid', `an order has 1 to ${MAX_LINES} lines`);
  }
  const productIds = new Set(data.lines.map((line) => line.productId));
  if (productIds.size !== data.lines.length) throw new DomainError('ORDER_INVALID', 'invalid', 'each product may appear once per order');
  for (const line of data.lines) {
    if (line.amount !== line.unitPrice * line.quantity || line.quantity < 1 || line.unitPrice < 0) {
      throw new DomainError('ORDER_INVALID', 'invalid', `line for ${line.productId} is not consistently priced`);
    }
  }
  const subtotal = data.lines.reduce((sum, line) => sum + line.amount, 0);
  const discount = data.coupon?.discount ?? 0;
  if (discount < 0 || discount > subtotal) throw new DomainError('ORDER_INVALID', 'invalid', 'the discount must lie between 0 and the subtotal');
  if (!(Date.parse(data.expiresAt) > Date.parse(data.now))) throw new DomainError('ORDER_INVALID', 'invalid', 'an order must expire after it is placed');
  return [
    {
      type: 'OrderPlaced',
      data: {
        orderId: data.orderId,
        userId: data.userId,
        orderType: data.orderType,
        lines: data.lines,
        coupon: data.coupon,
        subtotal,
        discount,
        total: subtotal - discount,
        occurredAt: data.now,
        expiresAt: data.expiresAt,
      },
    },
  ];
}

/** Payment and cancellation race on the same revision: whichever lands first wins, the other sees the new status. */
function requirePending(state: OrderState, userId: string, code: 'ORDER_NOT_PAYABLE' | 'ORDER_NOT_CANCELLABLE', verb: string) {
  if (!state.exists || state.userId !== userId) throw new DomainError('ORDER_NOT_FOUND', 'not_found', 'no such order');
  if (state.status !== 'PENDING') throw new DomainError(code, 'conflict', `a ${state.status.toLowerCase()} order cannot be ${verb}`, { orderStatus: state.status });
  return state;
}

function markPaid({ data }: MarkPaid, state: OrderState): OrderEvent[] {
  const order = requirePending(state, data.userId, 'ORDER_NOT_PAYABLE', 'paid');
  // Its prices are a snapshot: past its expiry they are no longer on offer.
  if (isExpired(order, new Date(data.now))) {
    throw new DomainError('ORDER_EXPIRED', 'conflict', 'the order expired unpaid: place it again at today\'s prices', { expiresAt: order.expiresAt });
  }
  return [{ type: 'OrderPaid', data: { orderId: order.orderId, userId: order.userId, total: order.total, payer: data.payer, occurredAt: data.now } }];
}

function recordFailure({ data }: RecordPaymentFailure, state: OrderState): OrderEvent[] {
  const order = requirePending(state, data.userId, 'ORDER_NOT_PAYABLE', 'paid');
  return [{ type: 'PaymentFailed', data: { orderId: order.orderId, userId: order.userId, reason: data.reason, occurredAt: data.now } }];
}

function cancel({ data }: CancelOrder, state: OrderState): OrderEvent[] {
  if (!state.exists || state.userId !== data.userId) throw new DomainError('ORDER_NOT_FOUND', 'not_found', 'no such order');
  if (state.status === 'CANCELLED') throw new DomainError('ORDER_NOT_CANCELLABLE', 'conflict', 'the order is cancelled already', { orderStatus: state.status });
  if (data.seenStatus !== undefined && data.seenStatus !== state.status) {
    throw new DomainError('ORDER_NOT_CANCELLABLE', 'conflict', `the order became ${state.status.toLowerCase()} while it was being cancelled`, {
      orderStatus: state.status,
    });
  }
  return [{ type: 'OrderCancelled', data: { orderId: state.orderId, userId: state.userId, refunded: state.status === 'PAID', occurredAt: data.now } }];
}

export const orderDecider: Decider<OrderCommand, OrderEvent, OrderState> = {
  category: 'order',
  initialState: { exists: false },
  decide(command, state) {
    switch (command.type) {
      case 'PlaceOrder':
        return place(command, state);
      case 'MarkPaid':
        return markPaid(command, state);
      case 'RecordPaymentFailure':
        return recordFailure(command, state);
      case 'CancelOrder':
        return cancel(command, state);
      default:
        return unreachable(command);
    }
  },
  evolve(state, event) {
    switch (event.type) {
      case 'OrderPlaced': {
        const { data } = event;
        return {
          exists: true,
          orderId: data.orderId,
          userId: data.userId,
          orderType: data.orderType,
          status: 'PENDING',
          lines: data.lines,
          coupon: data.coupon,
          subtotal: data.subtotal,
          discount: data.discount,
          total: data.total,
          placedAt: data.occurredAt,
          expiresAt: expiryOf(data),
          paidAt: null,
          cancelledAt: null,
          payer: null,
          history: [{ status: 'PENDING', at: data.occurredAt }],
        };
      }
      case 'OrderPaid':
        if (!state.exists) return state;
        return {
          ...state,
          status: 'PAID',
          paidAt: event.data.occurredAt,
          payer: event.data.payer,
          history: [...state.history, { status: 'PAID', at: event.data.occurredAt }],
        };
      case 'PaymentFailed':
        if (!state.exists) return state;
        return { ...state, history: [...state.history, { status: 'PAYMENT_FAILED', at: event.data.occurredAt, reason: event.data.reason }] };
      case 'OrderCancelled':
        if (!state.exists) return state;
        return {
          ...state,
          status: 'CANCELLED',
          cancelledAt: event.data.occurredAt,
          history: [...state.history, { status: 'CANCELLED', at: event.data.occurredAt }],
        };
      default:
        return unreachable(event);
    }
  },
};
