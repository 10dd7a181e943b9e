/** Field types of a zod object schema, for validating field references before running. */
import type { z } from 'zod';
import type { Fields, FieldType } from './ir.js';

interface Def {
  type: string;
  innerType?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  in?: z.ZodType;
  out?: z.ZodType;
}

function def(s: z.ZodType): Def {
  return (s as unknown as { _zod: { def: Def } })._zod.def;
}

function typeOf(s: z.ZodType): FieldType {
  const d = def(s);
  switch (d.type) {
    case 'number':
    case 'int':
    case 'bigint':
      return 'number';
    case 'string':
    case 'enum':
      return 'string';
    case 'boolean':
      return 'boolean';
    case 'date':
      return 'date';
    case 'optional':
    case 'nullable':
    case 'default':
    case 'readonly':
    case 'nonoptional':
      return d.innerType ? typeOf(d.innerType) : 'unknown';
    case 'pipe':
      return d.out ? typeOf(d.out) : 'unknown';
    default:
      return 'unknown';
  }
}

/** The fields of an object schema; null when the schema is not a plain object. */
export function fieldsOf(schema: z.ZodType): Fields {
  const d = def(schema);
  if (d.type !== 'object') return null;
  const shape = (schema as unknown as { shape: Record<string, z.ZodType> }).shape;
  const out: Record<string, FieldType> = {};
  for (const [k, v] of Object.entries(shape)) out[k] = typeOf(v);
  return out;
}
