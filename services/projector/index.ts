export { ProjectorRunner, type Projection, type ProjectorStatus, type RunnerOptions } from './runner.js';
export { MemoryView } from './memory-view.js';
export { rowFor, type ScopeRow, type SystemView, type ViewAnswer } from './system-view.js';
