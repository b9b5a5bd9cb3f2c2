export {
  loadConfig,
  SETTINGS,
  type Config,
  type KafkaConfig,
  type HttpLimits,
  type ViewConfig,
  type RedisViewConfig,
  type PostgresViewConfig,
  type WebhookViewConfig,
} from './config.js';
export { ConfigSchema, SettingsSchema, FileSchema } from './schema.js';
