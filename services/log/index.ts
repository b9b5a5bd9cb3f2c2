export type { EventLog, Appended, CheckpointStore } from './port.js';
export { EmbeddedEventLog } from './embedded.js';
