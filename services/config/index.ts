export { loadConfig, SETTINGS, type Config, type KafkaConfig } from './config.js';
