import { z } from 'zod';
import type { AppServices } from '../../composition/services';
import { userIdSchema } from '../../shared/auth/tokens';
import { defineRoute } from '../../shared/http/route';
import { EXAMPLE, positionSchema } from '../../shared/http/schemas';
import { privacyDecider } from './decider';

export const privacyRoutes = ({ clock, commands, dataKeys }: AppServices) => [
  defineRoute({
    method: 'post',
    path: '/admin/users/{userId}/forget-payment-data',
    operationId: 'forgetPaymentData',
    summary: "Crypto-shred a user's payment data: destroy their data key (orders stay, their payer becomes null)",
    tags: ['Admin', 'Privacy'],
    access: 'admin',
    idempotent: true,
    // .meta: userIdSchema is made before zod learns .openapi (src/shared/http/schemas.ts), the same metadata either way.
    params: z.strictObject({ userId: userIdSchema.meta({ param: { example: EXAMPLE.userId } }) }),
    response: {
      status: 200,
      description: 'The key is destroyed; the request is recorded in the stream privacy-<userId>',
      schema: z.object({
        userId: z.string().openapi({ example: EXAMPLE.userId }),
        keyId: z.string().nullable().openapi({ description: 'The destroyed data key; null when the user had none', example: 'dk-8c2f4a1e9b3d7c5a0e6f2b18' }),
        position: positionSchema,
      }),
    },
    async handle({ params, user, idSeed }) {
      const keyId = await dataKeys.currentKeyId(params.userId);
      // Recorded first, destroyed second: an erasure is never left unrecorded, and destroying
      // again is harmless, so a failure in between is finished by sending the request again.
      const recorded = await commands.handle(
        privacyDecider,
        params.userId,
        { type: 'ForgetPaymentData', data: { userId: params.userId, keyId, now: clock.now().toISOString() } },
        { idSeed, metadata: { actorId: user.userId, role: user.role } },
      );
      await dataKeys.destroy(params.userId);
      return { status: 200, body: { userId: params.userId, keyId, position: recorded.position! } };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/admin/payment-data/rewrap-keys',
    operationId: 'rewrapPaymentDataKeys',
    summary: 'After a master key rotation: re-wrap every data key with PAYER_KEY, so PAYER_KEY_PREVIOUS can be dropped',
    tags: ['Admin', 'Privacy'],
    access: 'admin',
    response: {
      status: 200,
      description: 'What was re-wrapped; unreadable keys are wrapped by a master key that is not configured and were left as they are',
      schema: z.object({
        masterKeyId: z.string().openapi({ example: 'mk-4f1c9a2e7b3d5c80' }),
        rewrapped: z.number().int().openapi({ example: 14 }),
        alreadyCurrent: z.number().int().openapi({ example: 3 }),
        unreadable: z.number().int().openapi({ example: 0 }),
      }),
    },
    async handle() {
      return { status: 200, body: await dataKeys.rewrapAll() };
    },
  }),
];
