import { z } from 'zod';
import type { AppServices } from '../../composition/services';
import { DomainError } from '../../shared/domain/errors';
import { defineRoute } from '../../shared/http/route';

const storedEventSchema = z.object({
  id: z.string(),
  type: z.string(),
  revision: z.string(),
  position: z.string(),
  data: z.record(z.string(), z.unknown()),
  metadata: z.record(z.string(), z.unknown()),
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
    params: z.strictObject({ stream: z.string().min(3).max(200).regex(/^[a-z]+-[A-Za-z0-9_.:@-]+$/, 'a stream name such as wallet-<userId>') }),
    query: z.strictObject({
      fromRevision: z.coerce.number().int().min(0).default(0),
      limit: z.coerce.number().int().min(1).max(1000).default(100),
    }),
    response: {
      status: 200,
      description: 'Events in revision order; nextRevision is where the next page starts, or null',
      schema: z.object({ stream: z.string(), events: z.array(storedEventSchema), nextRevision: z.number().int().nullable() }),
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
