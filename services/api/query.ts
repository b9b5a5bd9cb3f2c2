import type { FastifyInstance, preValidationHookHandler } from 'fastify';

type Coercible = 'integer' | 'number' | 'boolean';

/**
 * A query string is text: `GET /v1/reviews?limit=5` sends "5". For each route whose querystring schema
 * has integer, number or boolean fields, those fields are converted before validation, and nothing
 * else: a value that does not read as one stays text and fails validation with the field's name, and
 * bodies stay strict (JSON says what type it means). Routes without such fields — the single check
 * among them — get no hook at all.
 */
export function coerceQueryStrings(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    const schema = route.schema?.querystring as
      { readonly properties?: Readonly<Record<string, { readonly type?: unknown }>> } | undefined;
    const fields = Object.entries(schema?.properties ?? {})
      .filter(([, property]) => ['integer', 'number', 'boolean'].includes(String(property.type)))
      .map(([name, property]) => [name, property.type as Coercible] as const);
    if (fields.length === 0) return;
    const coerce: preValidationHookHandler = (request, _reply, done) => {
      const query = request.query as Record<string, unknown>;
      for (const [name, type] of fields) {
        const value = query[name];
        if (typeof value === 'string') query[name] = fromText(value, type);
      }
      done();
    };
    const existing = route.preValidation;
    route.preValidation =
      existing === undefined ? [coerce] : [coerce, ...(Array.isArray(existing) ? existing : [existing])];
  });
}

const NUMBER = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/;

function fromText(value: string, type: Coercible): unknown {
  if (type === 'boolean') return value === 'true' ? true : value === 'false' ? false : value;
  return NUMBER.test(value) ? Number(value) : value;
}
