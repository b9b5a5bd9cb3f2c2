// Request and reply schemas (TypeBox): validation, serialisation and the OpenAPI document, by area.
export { ErrorBody, Evidence, Name, PhoneInput } from './common.js';
export * from './intake.js';
export * from './checks.js';
export * from './views.js';
