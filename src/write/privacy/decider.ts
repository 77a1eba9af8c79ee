import { Command, Decider, DomainEvent, unreachable } from '../../shared/domain/decider';

/** An admin had a user's data key destroyed: what it sealed (the payer of their orders) no longer opens. */
export type PaymentDataForgotten = DomainEvent<
  'PaymentDataForgotten',
  { userId: string; /** The destroyed key, null when the user had none. */ keyId: string | null; occurredAt: string }
>;
export type PrivacyEvent = PaymentDataForgotten;

export type ForgetPaymentData = Command<'ForgetPaymentData', { userId: string; keyId: string | null; now: string }>;
export type PrivacyCommand = ForgetPaymentData;

export interface PrivacyState {
  readonly forgotten: number;
}

export const privacyStream = (userId: string) => `privacy-${userId}`;

/**
 * A user's privacy requests, stream `privacy-<userId>`. Forgetting is always granted and always
 * recorded, a second time too: each request is its own audit fact.
 */
export const privacyDecider: Decider<PrivacyCommand, PrivacyEvent, PrivacyState> = {
  category: 'privacy',
  initialState: { forgotten: 0 },
  decide(command) {
    switch (command.type) {
      case 'ForgetPaymentData': {
        const { userId, keyId, now } = command.data;
        return [{ type: 'PaymentDataForgotten', data: { userId, keyId, occurredAt: now } }];
      }
      default:
        return unreachable(command.type);
    }
  },
  evolve(state, event) {
    switch (event.type) {
      case 'PaymentDataForgotten':
        return { forgotten: state.forgotten + 1 };
      default:
        return unreachable(event.type);
    }
  },
};
