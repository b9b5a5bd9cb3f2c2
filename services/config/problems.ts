import { KindGuard, type TSchema } from '@sinclair/typebox';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';

/**
 * TypeBox's errors turned into what an operator reads: the setting as they wrote it, and what to write
 * instead (the schema's `fix`, see schema.ts), one problem per value.
 */

/** How the environment or the file names the value at a JSON pointer. */
export interface Labels {
  /** The value at `pointer`, e.g. `PORT=abc` or `ledger.json: views[0].url`. */
  at(pointer: readonly string[], value: unknown, schema: TSchema): string;
  /** A key at `pointer` that its object does not know. */
  unknown(pointer: readonly string[], known: readonly string[], schema: TSchema): string;
}

export function problemsOf(
  root: TSchema,
  value: unknown,
  errors: Iterable<ValueError>,
  labels: Labels,
): string[] {
  const byPath = new Map<string, string>();
  const visit = (list: Iterable<ValueError>): void => {
    for (const error of list) {
      const problem = describe(root, value, error, labels, visit);
      // The first problem of a value is the one to fix first (a missing text, before its pattern).
      if (problem !== undefined && !byPath.has(problem.path)) byPath.set(problem.path, problem.message);
    }
  };
  visit(errors);
  return [...new Set(byPath.values())];
}

function describe(
  root: TSchema,
  value: unknown,
  error: ValueError,
  labels: Labels,
  visit: (errors: Iterable<ValueError>) => void,
): { path: string; message: string } | undefined {
  const pointer = parsePointer(error.path);
  const schema = error.schema;
  const discriminator = schema.discriminator as string | undefined;
  if (error.type === ValueErrorType.Union && discriminator !== undefined && isObject(error.value)) {
    const members = (schema.anyOf as TSchema[]).map((member) => tagOf(member, discriminator));
    const index = members.indexOf(error.value[discriminator]);
    // The member the value names explains what is wrong with it; another member's complaints would not.
    if (index >= 0) {
      visit(error.errors[index] ?? []);
      return undefined;
    }
    const at = labels.at([...pointer, discriminator], error.value[discriminator], schema);
    const choices = members.map((tag) => JSON.stringify(tag));
    return {
      path: error.path,
      message: `${at} must be ${choices.slice(0, -1).join(', ')} or ${choices.at(-1)}`,
    };
  }
  if (error.type === ValueErrorType.ObjectAdditionalProperties) {
    const message = KindGuard.IsRecord(schema)
      ? `${labels.at(pointer, error.value, schema)} ${(schema.keyFix as string | undefined) ?? 'is not a valid key'}`
      : labels.unknown(pointer, Object.keys(schema.properties as object), schema);
    return { path: error.path, message };
  }
  // A list's item without a fix of its own is the list's problem: "must be a list of words".
  const trail = trailOf(root, value, pointer);
  const reached = trail.length === pointer.length + 1;
  let depth = pointer.length;
  while (
    reached &&
    depth > 0 &&
    trail[depth]?.schema.fix === undefined &&
    KindGuard.IsArray(trail[depth - 1]?.schema)
  ) {
    depth -= 1;
  }
  const node = (reached ? trail[depth] : undefined) ?? { schema, value: error.value };
  const at = labels.at(pointer.slice(0, depth), node.value, node.schema);
  const absent = error.type === ValueErrorType.ObjectRequiredProperty;
  const empty = absent || error.type === ValueErrorType.StringMinLength;
  const missing = node.schema.missing as string | undefined;
  const text =
    empty && missing !== undefined
      ? missing
      : absent
        ? 'is required'
        : ((node.schema.fix as string | undefined) ?? fallback(node.schema, error));
  return { path: `/${pointer.slice(0, depth).join('/')}`, message: `${at} ${text}` };
}

/** The schema and value at each step from the root down the pointer, as far as the schema goes. */
function trailOf(
  root: TSchema,
  value: unknown,
  pointer: readonly string[],
): { schema: TSchema; value: unknown }[] {
  const trail = [{ schema: member(root, value), value }];
  for (const key of pointer) {
    const { schema: parent, value: container } = trail[trail.length - 1] as {
      schema: TSchema;
      value: unknown;
    };
    const inner =
      isObject(container) || Array.isArray(container)
        ? (container as Record<string, unknown>)[key]
        : undefined;
    const schema = KindGuard.IsArray(parent)
      ? parent.items
      : KindGuard.IsRecord(parent)
        ? (Object.values(parent.patternProperties)[0] as TSchema)
        : KindGuard.IsObject(parent)
          ? parent.properties[key]
          : undefined;
    if (schema === undefined) break;
    trail.push({ schema: member(schema, inner), value: inner });
  }
  return trail;
}

/** The member of a discriminated union that `value` names; the schema itself otherwise. */
function member(schema: TSchema, value: unknown): TSchema {
  const discriminator = schema.discriminator as string | undefined;
  if (discriminator === undefined || !isObject(value)) return schema;
  const members = schema.anyOf as TSchema[];
  return members.find((m) => tagOf(m, discriminator) === value[discriminator]) ?? schema;
}

function tagOf(member: TSchema, discriminator: string): unknown {
  return (member.properties as Record<string, TSchema> | undefined)?.[discriminator]?.const;
}

/** What a schema without a `fix` asks for, in words. */
function fallback(schema: TSchema, error: ValueError): string {
  if (KindGuard.IsInteger(schema) || KindGuard.IsNumber(schema)) {
    const kind = KindGuard.IsInteger(schema) ? 'a whole number' : 'a number';
    const { minimum, maximum } = schema;
    if (minimum !== undefined && maximum !== undefined)
      return `must be ${kind} from ${minimum} to ${maximum}`;
    if (minimum !== undefined) return `must be ${kind} ≥ ${minimum}`;
    if (maximum !== undefined) return `must be ${kind} ≤ ${maximum}`;
    return `must be ${kind}`;
  }
  if (KindGuard.IsString(schema))
    return (schema.minLength ?? 0) > 0 ? 'must be a non-empty string' : 'must be a string';
  if (KindGuard.IsBoolean(schema)) return 'must be true or false';
  if (KindGuard.IsLiteral(schema)) return `must be ${JSON.stringify(schema.const)}`;
  if (KindGuard.IsUnion(schema) && schema.anyOf.every((m) => KindGuard.IsLiteral(m))) {
    return `must be one of ${schema.anyOf.map((m) => JSON.stringify(m.const)).join(', ')}`;
  }
  if (KindGuard.IsArray(schema)) return 'must be a list';
  if (KindGuard.IsObject(schema) || KindGuard.IsRecord(schema)) return 'must be an object';
  return `is not valid (${error.message})`;
}

function parsePointer(path: string): string[] {
  if (path === '') return [];
  return path
    .slice(1)
    .split('/')
    .map((key) => key.replace(/~1/g, '/').replace(/~0/g, '~'));
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
