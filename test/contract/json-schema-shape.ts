// Reduces a JSON Schema to the shape two schemas must share to say the same thing: types (with
// null), enums, properties, required keys, items, refs and string formats. zod and the OpenAPI
// reference spell nullability and integer widths differently; this folds those spellings together.
type Json = Record<string, unknown>;

const STRING_FORMATS = new Set(['uuid', 'date-time']);

export function shapeOf(schema: unknown): unknown {
  if (schema === null || typeof schema !== 'object') return schema;
  const s = schema as Json;
  const alternatives = (s.anyOf ?? s.oneOf) as unknown[] | undefined;
  if (alternatives) {
    const shapes = alternatives.map(shapeOf);
    const nonNull = shapes.filter((x) => !(isObj(x) && isDeep(x, { types: ['null'] })));
    if (nonNull.length === 1 && shapes.length === 2) {
      const only = nonNull[0] as Json;
      // `{type: X} | null` is `type: [X, null]`; `$ref | null` stays a nullable ref.
      if (Array.isArray(only.types)) return { ...only, types: [...(only.types as string[]), 'null'].sort() };
      return { ...only, nullable: true };
    }
    return { anyOf: shapes.map((x) => JSON.stringify(x)).sort() };
  }
  const out: Json = {};
  if (typeof s.$ref === 'string') out.ref = s.$ref.split('/').pop();
  if (s.type !== undefined) out.types = (Array.isArray(s.type) ? [...(s.type as string[])] : [s.type as string]).sort();
  if (Array.isArray(s.enum)) out.enum = [...(s.enum as string[])].sort();
  if (typeof s.format === 'string' && STRING_FORMATS.has(s.format)) out.format = s.format;
  if (isObj(s.properties)) {
    out.properties = Object.fromEntries(
      Object.entries(s.properties)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, shapeOf(v)]),
    );
    out.required = [...((s.required as string[] | undefined) ?? [])].sort();
  }
  if (s.items !== undefined) out.items = shapeOf(s.items);
  return out;
}

const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);
const isDeep = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
