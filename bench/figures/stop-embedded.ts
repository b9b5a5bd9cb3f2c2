import type { FigureOutput } from '../results.js';
import { stopLatency } from '../stop-latency.js';

export const run = (): Promise<FigureOutput> => stopLatency('embedded');
