import { z } from 'zod';
import { BALANCES, BalanceDoc } from '../../../projections/balances';
import { POINT_HISTORY, PointHistoryDoc } from '../../../projections/point-history';
import type { AppServices } from '../../composition/services';
import { defineRoute } from '../../shared/http/route';
import { EXAMPLE, instantOutSchema, listQuerySchema, pageSchema } from '../../shared/http/schemas';

const historyItem = z.object({
  type: z.enum(['CHARGE', 'USE', 'REFUND']),
  amount: z.number().int().openapi({ example: 50_000 }),
  balanceAfter: z.number().int().openapi({ example: 80_000 }),
  orderId: z.string().optional().openapi({ description: 'The order that used or refunded the points', example: EXAMPLE.orderId }),
  occurredAt: instantOutSchema,
});

export const pointsQueryRoutes = ({ documents }: AppServices) => [
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
    readsFrom: [POINT_HISTORY],
    query: listQuerySchema,
    response: { status: 200, description: 'One page of history', schema: pageSchema(historyItem) },
    async handle({ user, query }) {
      const page = await documents.find<PointHistoryDoc>(POINT_HISTORY, {
        where: { userId: user.userId },
        sort: { field: 'position', direction: 'desc' },
        limit: query.limit,
        cursor: query.cursor,
      });
      return {
        status: 200,
        body: {
          items: page.items.map(({ type, amount, balanceAfter, orderId, occurredAt }) => ({ type, amount, balanceAfter, orderId, occurredAt })),
          nextCursor: page.nextCursor,
        },
      };
    },
  }),
];
