/**
 * The rule-based schema, validated with zod at the edge (the crate re-checks
 * what generation needs: ranges, regexes, references, foreign-key cycles).
 */
import { z } from 'zod';

const num = z.number(); // zod 4 rejects Infinity and NaN
const int = z.number().int(); // safe integers only in zod 4
const dateLike = z.union([int, z.date().transform((d) => d.getTime()), z.string().transform((s, ctx) => {
  const t = Date.parse(s);
  if (Number.isNaN(t)) ctx.addIssue({ code: 'custom', message: `not a date: '${s}'` });
  return t;
})]);

export const generatorSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('int'), min: int, max: int }).strict(),
  z.object({ kind: z.literal('float'), min: num, max: num }).strict(),
  z.object({ kind: z.literal('normal'), mean: num, std: num.positive() }).strict(),
  z.object({ kind: z.literal('enum'), values: z.array(z.string()).min(1), weights: z.array(num.nonnegative()).optional() }).strict(),
  /** Dates between `from` and `to` (Date, ISO string or epoch ms); generated as epoch ms. */
  z.object({ kind: z.literal('date'), from: dateLike, to: dateLike }).strict(),
  /** Strings matching a regular expression, e.g. `[A-Z]{3}-\\d{4}`. */
  z.object({ kind: z.literal('pattern'), pattern: z.string().min(1) }).strict(),
  z.object({ kind: z.literal('sequence'), start: num.optional(), step: num.optional() }).strict(),
  /** A value of another table's unique key: referential integrity by construction. */
  z.object({ kind: z.literal('ref'), table: z.string().min(1), field: z.string().min(1) }).strict(),
  /** `@faker-js/faker` method path, e.g. `person.fullName`, `internet.email`, `location.city`. */
  z.object({ kind: z.literal('faker'), method: z.string().min(1) }).strict(),
]);

export const fieldSchema = z
  .object({
    name: z.string().min(1),
    gen: generatorSchema,
    unique: z.boolean().optional(),
    notNull: z.boolean().optional(),
    /** Probability that a value is null. */
    nullRate: z.number().min(0).lt(1).optional(),
    min: num.optional(),
    max: num.optional(),
  })
  .strict();

export const tableSchema = z
  .object({
    name: z.string().min(1),
    rows: z.number().int('must be a positive integer').positive('must be a positive integer'),
    fields: z.array(fieldSchema).min(1),
  })
  .strict();

export const synthSchema = z.object({ tables: z.array(tableSchema).min(1) }).strict();

export type Generator = z.input<typeof generatorSchema>;
export type FieldSpec = z.input<typeof fieldSchema>;
export type TableSpec = z.input<typeof tableSchema>;
export type SynthSchema = z.input<typeof synthSchema>;
export type ParsedSchema = z.output<typeof synthSchema>;
