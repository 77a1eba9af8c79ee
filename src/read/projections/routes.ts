import { z } from 'zod';
import { LAG_COUNT_LIMIT, Projector } from '../../../projections/runtime';
import { DomainError } from '../../shared/domain/errors';
import { defineRoute } from '../../shared/http/route';
import { EXAMPLE } from '../../shared/http/schemas';

export const projectionAdminRoutes = (projector: Projector) => [
  defineRoute({
    method: 'get',
    path: '/admin/projections',
    operationId: 'listProjections',
    summary: "Each projection's checkpoint and whether it has caught up with the log",
    tags: ['Admin'],
    access: 'admin',
    response: {
      status: 200,
      description: 'Projection status',
      schema: z.object({
        items: z.array(
          z.object({
            name: z.string().openapi({ example: 'orders' }),
            checkpoint: z.string().nullable().openapi({ example: EXAMPLE.position }),
            head: z.string().nullable().openapi({ example: EXAMPLE.position }),
            caughtUp: z.boolean().openapi({ example: true }),
            rebuilding: z
              .object({ done: z.number().openapi({ example: 512 }), total: z.number().openapi({ example: 1042 }) })
              .nullable()
              .openapi({
                description:
                  'A rebuild this process is running: how far it has replayed, in log offsets (events in SQLite, bytes in KurrentDB), so done/total is the share; null otherwise',
              }),
            lagEvents: z.number().int().min(0).openapi({ description: `Events in the log past the checkpoint (counted up to ${LAG_COUNT_LIMIT}); 0 when caught up`, example: 0 }),
            lagEventsCapped: z.boolean().openapi({ description: `True when the count stopped at ${LAG_COUNT_LIMIT}: at least lagEvents events lie behind`, example: false }),
            lagMs: z
              .number()
              .int()
              .min(0)
              .nullable()
              .openapi({ description: 'How old the oldest event past the checkpoint is, in ms (0 when caught up; null when none of those events carries a time)', example: 0 }),
          }),
        ),
      }),
    },
    async handle() {
      return { status: 200, body: { items: await projector.status() } };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/admin/projections/{name}/rebuild',
    operationId: 'rebuildProjection',
    summary: 'Rebuild one read model by replaying the whole log',
    tags: ['Admin'],
    access: 'admin',
    params: z.strictObject({ name: z.string().max(100).openapi({ param: { example: 'orders' } }) }),
    response: { status: 202, description: 'The rebuild has started', schema: z.object({ name: z.string().openapi({ example: 'orders' }), status: z.literal('REBUILDING') }) },
    errors: { 404: ['PROJECTION_NOT_FOUND'] },
    async handle({ params }) {
      if (!projector.projections.some((p) => p.name === params.name)) {
        throw new DomainError('PROJECTION_NOT_FOUND', 'not_found', `no projection named ${params.name}`);
      }
      void projector.rebuild(params.name);
      return { status: 202, body: { name: params.name, status: 'REBUILDING' as const } };
    },
  }),
];
