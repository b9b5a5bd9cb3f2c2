import { ingestKafka } from '../ingest.js';
import type { FigureOutput } from '../results.js';

export const run = (): Promise<FigureOutput> => ingestKafka();
