export {
  ProjectorRunner,
  StoreLost,
  type Projection,
  type ProjectionCondition,
  type ProjectorStatus,
  type RunnerOptions,
} from './runner.js';
export { MemoryView, type ReviewItem } from './memory-view.js';
export { rowFor, type ScopeRow, type SystemView, type ViewAnswer } from './system-view.js';
export { RedisView, type RedisViewOptions } from './redis-view.js';
export { PostgresView, senderSql, type PostgresViewOptions, type SenderSql } from './postgres-view.js';
export {
  WebhookView,
  WebhookAttemptError,
  type WebhookViewOptions,
  type WebhookChange,
  type DeadLetter,
  type OwedLetter,
  type ReplayReport,
} from './webhook-view.js';
export { storableText, storableValue } from './storable-text.js';
export {
  VIEW_NAME,
  POSTGRES_TABLE,
  REDIS_PREFIX,
  MAX_TABLE_PREFIX,
  follows,
  assertFollows,
  postgresTablePrefix,
  redisKeyPrefix,
  type NameRule,
} from './names.js';
