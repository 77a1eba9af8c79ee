import { z } from 'zod';
import type { AppServices } from '../../composition/services';
import { defineRoute } from '../../shared/http/route';
import { EXAMPLE, positionSchema } from '../../shared/http/schemas';
import { walletDecider } from './decider';

export const walletRoutes = ({ config, clock, commands }: AppServices) => [
  defineRoute({
    method: 'post',
    path: '/me/points/charge',
    operationId: 'chargePoints',
    summary: 'Charge points to my wallet',
    tags: ['Points'],
    access: 'user',
    idempotent: true,
    body: z.strictObject({ amount: z.number().int().min(1).max(config.POINTS_MAX_CHARGE).openapi({ example: 50_000 }) }),
    response: {
      status: 200,
      description: 'The wallet after the charge',
      schema: z.object({
        userId: z.string().openapi({ example: EXAMPLE.userId }),
        balance: z.number().int().openapi({ example: 80_000 }),
        charged: z.number().int().openapi({ example: 50_000 }),
        position: positionSchema,
      }),
    },
    errors: { 409: ['POINTS_BALANCE_LIMIT'] },
    async handle({ body, user, idSeed }) {
      const userId = user.userId;
      const result = await commands.handle(
        walletDecider,
        userId,
        {
          type: 'ChargePoints',
          data: {
            userId,
            amount: body.amount,
            limits: { maxCharge: config.POINTS_MAX_CHARGE, balanceCap: config.POINTS_BALANCE_CAP },
            now: clock.now().toISOString(),
          },
        },
        { idSeed, metadata: { actorId: userId, role: user.role } },
      );
      return { status: 200, body: { userId, balance: result.state.balance, charged: body.amount, position: result.position } };
    },
  }),
];
