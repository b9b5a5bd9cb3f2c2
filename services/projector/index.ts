export { ProjectorRunner, type Projection, type ProjectorStatus, type RunnerOptions } from './runner.js';
export { MemoryView } from './memory-view.js';
