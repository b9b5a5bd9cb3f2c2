import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import avro from 'avsc';
import { LedgerError } from '../ledger/index.js';

/** The schemas folder of this package (dist/services/codec → ../../../schemas, or the sources'). */
export const SCHEMAS_DIR = join(
  import.meta.dirname,
  '..',
  '..',
  ...(import.meta.dirname.includes('/dist/') ? ['..'] : []),
  'schemas',
);

export interface Catalogue {
  readonly subject: string;
  /** The id new records are written with; its schema is also the reader of every older record. */
  readonly writerId: number;
  readonly types: ReadonlyMap<number, avro.Type>;
}

interface CatalogueFile {
  readonly subject: string;
  readonly writerId: number;
  readonly schemas: readonly { readonly id: number; readonly version: number; readonly file: string }[];
}

/** Reads schemas/catalogue.json and every schema it lists. */
export function loadCatalogue(dir: string = SCHEMAS_DIR): Catalogue {
  const file = JSON.parse(readFileSync(join(dir, 'catalogue.json'), 'utf8')) as CatalogueFile;
  const types = new Map<number, avro.Type>();
  for (const entry of file.schemas) {
    if (types.has(entry.id))
      throw new LedgerError('invalid_config', `schema id ${entry.id} is listed twice in ${dir}`);
    const schema = JSON.parse(readFileSync(join(dir, entry.file), 'utf8')) as avro.Schema;
    types.set(entry.id, avro.Type.forSchema(schema));
  }
  if (!types.has(file.writerId)) {
    throw new LedgerError('invalid_config', `writerId ${file.writerId} is not among the schemas of ${dir}`);
  }
  return { subject: file.subject, writerId: file.writerId, types };
}
