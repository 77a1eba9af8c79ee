import { z } from 'zod';
import type { AppServices } from '../../composition/services';
import { DomainError } from '../../shared/domain/errors';
import { defineRoute } from '../../shared/http/route';
import { EXAMPLE } from '../../shared/http/schemas';

const storedEventSchema = z.object({
  id: z.string().openapi({ example: '9e1f4c2b-6a3d-4f8e-b0c7-1d2e3f4a5b6c' }),
  type: z.string().openapi({ example: 'PointsCharged' }),
  revision: z.string().openapi({ example: '0' }),
  position: z.string().openapi({ example: EXAMPLE.position }),
  data: z.record(z.string(), z.unknown()).openapi({ example: { userId: EXAMPLE.userId, amount: 50_000, occurredAt: EXAMPLE.instant } }),
  metadata: z.record(z.string(), z.unknown()).openapi({ example: { actorId: EXAMPLE.userId, role: 'customer' } }),
});

/** Admins read any stream as it is in the log: payer data stays sealed there, as it is stored. */
export const auditRoutes = ({ events }: AppServices) => [
  defineRoute({
    method: 'get',
    path: '/admin/streams/{stream}',
    operationId: 'readStream',
    summary: "A stream's events, as stored, for audit",
    tags: ['Admin'],
    access: 'admin',
    params: z.strictObject({
      stream: z
        .string()
        .min(3)
        .max(200)
        .regex(/^[a-z]+-[A-Za-z0-9_.:@-]+$/, 'a stream name such as wallet-<userId>')
        .openapi({ param: { example: `wallet-${EXAMPLE.userId}` } }),
    }),
    query: z.strictObject({
      fromRevision: z.coerce.number().int().min(0).default(0).openapi({ param: { example: 0 } }),
      limit: z.coerce.number().int().min(1).max(1000).default(100).openapi({ param: { example: 100 } }),
    }),
    response: {
      status: 200,
      description: 'Events in revision order; nextRevision is where the next page starts, or null',
      schema: z.object({
        stream: z.string().openapi({ example: `wallet-${EXAMPLE.userId}` }),
        events: z.array(storedEventSchema),
        nextRevision: z.number().int().nullable().openapi({ example: null }),
      }),
    },
    errors: { 404: ['STREAM_NOT_FOUND'] },
    async handle({ params, query }) {
      const all = await events.readStream(params.stream, BigInt(query.fromRevision));
      if (all.length === 0 && query.fromRevision === 0) throw new DomainError('STREAM_NOT_FOUND', 'not_found', `there is no stream ${params.stream}`);
      const page = all.slice(0, query.limit);
      return {
        status: 200,
        body: {
          stream: params.stream,
          events: page.map((e) => ({ id: e.id, type: e.type, revision: e.revision.toString(), position: e.position, data: e.data, metadata: e.metadata })),
          nextRevision: all.length > query.limit ? query.fromRevision + query.limit : null,
        },
      };
    },
  }),
];
