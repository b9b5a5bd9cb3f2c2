export { createEventCodec, type EventCodec } from './codec.js';
export { loadCatalogue, SCHEMAS_DIR, type Catalogue } from './catalogue.js';
export { frame, unframe } from './wire.js';
export { toAvro, fromAvro, type AvroEvent } from './mapping.js';
