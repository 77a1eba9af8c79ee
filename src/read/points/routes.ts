import { z } from 'zod';
import { BALANCES, BalanceDoc } from '../../../projections/balances';
import type { AppServices } from '../../composition/services';
import { streamHistory } from '../../shared/eventstore/history';
import { recorded } from '../../shared/eventstore/recorded';
import { defineRoute } from '../../shared/http/route';
import { EXAMPLE, instantOutSchema, listQuerySchema, pageSchema } from '../../shared/http/schemas';
import { walletStream } from '../../write/wallet/decider';
import { WalletEvent } from '../../write/wallet/events';

const entryTypes = { PointsCharged: 'CHARGE', PointsUsed: 'USE', PointsRefunded: 'REFUND' } as const satisfies { readonly [T in WalletEvent['type']]: string };

const historyItem = z.object({
  type: z.enum(['CHARGE', 'USE', 'REFUND']),
  amount: z.number().int().openapi({ example: 50_000 }),
  balanceAfter: z.number().int().openapi({ example: 80_000 }),
  orderId: z.string().optional().openapi({ description: 'The order that used or refunded the points', example: EXAMPLE.orderId }),
  occurredAt: instantOutSchema,
});

export const pointsQueryRoutes = ({ documents, events }: AppServices) => [
  defineRoute({
    method: 'get',
    path: '/me/points',
    operationId: 'getMyPoints',
    summary: 'My point balance',
    tags: ['Points'],
    access: 'user',
    readsFrom: [BALANCES],
    response: { status: 200, description: 'The balance (0 for a new user)', schema: z.object({ userId: z.string().openapi({ example: EXAMPLE.userId }), balance: z.number().int().openapi({ example: 80_000 }) }) },
    async handle({ user }) {
      const doc = await documents.get<BalanceDoc>(BALANCES, user.userId);
      return { status: 200, body: { userId: user.userId, balance: doc?.balance ?? 0 } };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/me/points/history',
    operationId: 'listMyPointHistory',
    summary: 'My point charges, uses and refunds, newest first',
    tags: ['Points'],
    access: 'user',
    query: listQuerySchema,
    response: { status: 200, description: 'One page of history', schema: pageSchema(historyItem) },
    async handle({ user, query }) {
      // Every wallet event is a charge, a use or a refund: the wallet's own stream is the history.
      const page = await streamHistory(events, walletStream(user.userId), query, (event) => {
        const { type, data } = recorded<WalletEvent>(event);
        return { type: entryTypes[type], amount: data.amount, balanceAfter: data.balanceAfter, orderId: 'orderId' in data ? data.orderId : undefined, occurredAt: data.occurredAt };
      });
      return { status: 200, body: page };
    },
  }),
];
