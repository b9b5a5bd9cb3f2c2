import { Type } from '@sinclair/typebox';
import { literals, Nullable } from './common.js';

export const ViewsReply = Type.Object({
  views: Type.Array(
    Type.Object({
      name: Type.String(),
      kind: Type.String(),
      position: Type.String(),
      head: Type.String(),
      lag: Type.Object({ events: Type.Integer(), ms: Type.Integer() }),
      ready: Type.Boolean(),
      healthy: Type.Boolean(),
      lastError: Type.Optional(Type.String()),
      deadLetters: Type.Optional(
        Type.Integer({
          description: 'Webhook views: changes the receiver is owed (ledger deadletters list)',
        }),
      ),
    }),
  ),
});

export const ViewParams = Type.Object(
  { name: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,47}$' }) },
  { additionalProperties: false },
);

export const RebuildReply = Type.Object({
  view: Type.String(),
  state: literals(['replaying', 'switching', 'done', 'failed'] as const),
  applied: Type.Integer({ description: 'Records the new store has applied' }),
  target: Type.Integer({ description: 'Records the log held when the rebuild started' }),
  startedAt: Type.String(),
  finishedAt: Nullable(Type.String()),
  eventsPerSecond: Nullable(Type.Number()),
  error: Nullable(Type.String()),
});

export const ReconcileBody = Type.Object(
  {
    repair: Type.Optional(
      Type.Boolean({ description: 'Rewrite each differing phone from the fold of the log' }),
    ),
    view: Type.Optional(
      Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,47}$', description: 'Only this view' }),
    ),
  },
  { additionalProperties: false },
);

const RowState = Type.Object({
  status: Type.String(),
  allowed: Type.Boolean(),
  eventId: Nullable(Type.String()),
});

export const ReconcileReply = Type.Object({
  views: Type.Array(
    Type.Object({
      view: Type.String(),
      kind: Type.String(),
      compared: Type.Boolean(),
      phones: Type.Integer(),
      rows: Type.Integer(),
      differences: Type.Integer(),
      examples: Type.Array(
        Type.Object({
          phone: Type.String(),
          scope: Type.String(),
          problem: literals(['missing', 'unexpected', 'different'] as const),
          expected: Type.Optional(RowState),
          actual: Type.Optional(RowState),
          structure: Type.Optional(literals(['suppressed_set'] as const)),
        }),
      ),
      repaired: Type.Integer(),
      asOf: Type.String(),
      note: Type.Optional(Type.String()),
    }),
  ),
});

export const DeadLettersQuery = Type.Object(
  {
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 100_000, description: 'At most (default 1000)' }),
    ),
  },
  { additionalProperties: false },
);

export const DeadLettersReply = Type.Object({
  view: Type.String(),
  pending: Type.Integer({ description: 'Changes the receiver is owed' }),
  phones: Type.Integer({
    description: 'Phones they concern: checks for them through this view answer unknown',
  }),
  deadLetters: Type.Array(
    Type.Object({
      idempotencyKey: Type.String({ description: 'Sent again with the same key on replay' }),
      at: Type.String({ description: 'When it was last refused' }),
      attempts: Type.Integer(),
      status: Nullable(Type.Integer({ description: 'The last HTTP status, when the receiver answered' })),
      lastError: Type.String(),
      phone: Nullable(Type.String()),
      scope: Nullable(Type.String()),
      superseded: Type.Boolean({
        description: 'The log has moved this row on since: a replay retires it unsent',
      }),
      change: Nullable(
        Type.Object({}, { additionalProperties: true, description: 'The body that was POSTed' }),
      ),
    }),
  ),
});

export const ReplayReply = Type.Object({
  view: Type.String(),
  sent: Type.Integer({ description: 'Accepted this time, with their original idempotency keys' }),
  superseded: Type.Integer({ description: 'Not resent: a later push carries the state the log gives now' }),
  unsendable: Type.Integer({ description: 'Unreadable records without a phone: nothing to send, retired' }),
  failed: Type.Integer({ description: 'Refused again: still owed' }),
  remaining: Type.Integer({ description: 'Still owed after this replay' }),
  errors: Type.Array(Type.Object({ idempotencyKey: Type.String(), lastError: Type.String() })),
  stoppedEarly: Nullable(Type.String()),
});
