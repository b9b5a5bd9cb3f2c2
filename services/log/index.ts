export type {
  EventLog,
  Appended,
  CheckpointStore,
  Consumption,
  ConsumerSpec,
  Cursor,
  Delivery,
  LogRecord,
  PhoneHistorySource,
  Undecodable,
} from './port.js';
export { pointToken, cursorToken, parseToken, reached, type LogPoint } from './cursor.js';
export { EmbeddedEventLog } from './embedded.js';
export { KafkaEventLog, partitionFor, type KafkaLogOptions } from './kafka.js';
export { exportLog, type ExportLine, type LogExport } from './export.js';
