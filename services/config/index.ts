export { loadConfig, SETTINGS, type Config } from './config.js';
