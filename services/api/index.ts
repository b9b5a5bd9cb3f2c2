export { buildApp, ROLES, type AppOptions, type Role } from './app.js';
export { startServer, type RunningServer } from './server.js';
