/**
 * Column expressions for `mapColumns` / `filterColumns`, as Polars, Arquero
 * and DuckDB users write them: `col('amount').mul(1.1)`, `col('amount').gt(5)`.
 * They are data, not functions: the native side compiles them and runs them
 * over whole columns (and fuses them with a following keyed window
 * aggregate), with no JavaScript call per batch or per row.
 *
 * Types: number (Float64 and Uint32 columns, read as doubles) and boolean
 * (comparisons, `and`/`or`/`not`). A map computes numbers; a filter takes a
 * boolean. Arithmetic is IEEE 754 double, as JavaScript's: `x / 0` is
 * ±Infinity, `0 / 0` is NaN, NaN propagates, a comparison with NaN is false
 * (`ne`: true); `min`/`max` are `Math.min`/`Math.max` (NaN if either is NaN).
 *
 * JSON form (also in YAML definitions): a number is a literal, a string a
 * column, `true`/`false` boolean literals, `{ op: [args] }` an operator:
 * `{ gt: [{ mul: ['amount', 1.1] }, 5] }`.
 */
import { invalidArgument } from '../errors.js';
import type { Fields } from './ir.js';

export type ExprType = 'number' | 'boolean';
export type ExprJson = number | boolean | string | { col: string } | { lit: number | boolean } | { [op: string]: ExprJson | ExprJson[] };

const BINARY: Record<string, [ExprType, ExprType]> = {
  add: ['number', 'number'],
  sub: ['number', 'number'],
  mul: ['number', 'number'],
  div: ['number', 'number'],
  min: ['number', 'number'],
  max: ['number', 'number'],
  gt: ['number', 'boolean'],
  ge: ['number', 'boolean'],
  lt: ['number', 'boolean'],
  le: ['number', 'boolean'],
  eq: ['number', 'boolean'],
  ne: ['number', 'boolean'],
  and: ['boolean', 'boolean'],
  or: ['boolean', 'boolean'],
};
const UNARY: Record<string, [ExprType, ExprType]> = { neg: ['number', 'number'], abs: ['number', 'number'], not: ['boolean', 'boolean'] };
export const EXPR_OPERATORS = [...Object.keys(BINARY), ...Object.keys(UNARY)];

type NumLike = Expr<'number'> | number;
type BoolLike = Expr<'boolean'> | boolean;

function literal(v: number | boolean, arg: string): ExprJson {
  if (typeof v === 'boolean') return v;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalidArgument(arg, `expected an expression or a finite number, got ${String(v)}`);
  return v;
}

function operand(v: unknown, want: ExprType, arg: string): ExprJson {
  if (v instanceof Expr) {
    if (v.type !== want) throw invalidArgument(arg, `type mismatch: expected ${want === 'number' ? 'a number' : 'a boolean'} expression, got a ${v.type} one`);
    return v.json;
  }
  if (want === 'number' && typeof v === 'number') return literal(v, arg);
  if (want === 'boolean' && typeof v === 'boolean') return v;
  throw invalidArgument(arg, `expected ${want === 'number' ? 'a number or a number expression' : 'a boolean or a boolean expression'}, got ${typeof v}`);
}

/** A typed column expression; `json` is what the native side compiles. */
export class Expr<T extends ExprType = ExprType> {
  /** @internal */
  constructor(
    readonly type: T,
    readonly json: ExprJson,
  ) {}

  #bin<R extends ExprType>(op: string, other: unknown): Expr<R> {
    const [arg, out] = BINARY[op];
    return new Expr<R>(out as R, { [op]: [operand(this, arg, 'this'), operand(other, arg, 'other')] });
  }

  add(this: Expr<'number'>, other: NumLike): Expr<'number'> {
    return this.#bin('add', other);
  }
  sub(this: Expr<'number'>, other: NumLike): Expr<'number'> {
    return this.#bin('sub', other);
  }
  mul(this: Expr<'number'>, other: NumLike): Expr<'number'> {
    return this.#bin('mul', other);
  }
  /** IEEE division: `x / 0` is ±Infinity, `0 / 0` NaN. */
  div(this: Expr<'number'>, other: NumLike): Expr<'number'> {
    return this.#bin('div', other);
  }
  /** `Math.min`: NaN if either is NaN. */
  min(this: Expr<'number'>, other: NumLike): Expr<'number'> {
    return this.#bin('min', other);
  }
  /** `Math.max`: NaN if either is NaN. */
  max(this: Expr<'number'>, other: NumLike): Expr<'number'> {
    return this.#bin('max', other);
  }
  neg(this: Expr<'number'>): Expr<'number'> {
    return new Expr('number', { neg: [operand(this, 'number', 'this')] });
  }
  abs(this: Expr<'number'>): Expr<'number'> {
    return new Expr('number', { abs: [operand(this, 'number', 'this')] });
  }
  gt(this: Expr<'number'>, other: NumLike): Expr<'boolean'> {
    return this.#bin('gt', other);
  }
  ge(this: Expr<'number'>, other: NumLike): Expr<'boolean'> {
    return this.#bin('ge', other);
  }
  lt(this: Expr<'number'>, other: NumLike): Expr<'boolean'> {
    return this.#bin('lt', other);
  }
  le(this: Expr<'number'>, other: NumLike): Expr<'boolean'> {
    return this.#bin('le', other);
  }
  eq(this: Expr<'number'>, other: NumLike): Expr<'boolean'> {
    return this.#bin('eq', other);
  }
  ne(this: Expr<'number'>, other: NumLike): Expr<'boolean'> {
    return this.#bin('ne', other);
  }
  and(this: Expr<'boolean'>, other: BoolLike): Expr<'boolean'> {
    return this.#bin('and', other);
  }
  or(this: Expr<'boolean'>, other: BoolLike): Expr<'boolean'> {
    return this.#bin('or', other);
  }
  not(this: Expr<'boolean'>): Expr<'boolean'> {
    return new Expr('boolean', { not: [operand(this, 'boolean', 'this')] });
  }

  toJSON(): ExprJson {
    return this.json;
  }
}

/** A number column (Float64 or Uint32). */
export function col(name: string): Expr<'number'> {
  if (typeof name !== 'string' || name.length === 0) throw invalidArgument('name', `expected a column name, got ${String(name)}`);
  return new Expr('number', name);
}

export function lit(value: number): Expr<'number'>;
export function lit(value: boolean): Expr<'boolean'>;
export function lit(value: number | boolean): Expr {
  return new Expr(typeof value === 'boolean' ? 'boolean' : 'number', literal(value, 'value'));
}

/** All of `preds` (true for none). */
export function and(...preds: BoolLike[]): Expr<'boolean'> {
  return preds.reduce<Expr<'boolean'>>((a, p, i) => (i === 0 ? new Expr('boolean', operand(p, 'boolean', `preds[0]`)) : a.and(p)), lit(true));
}

/** Any of `preds` (false for none). */
export function or(...preds: BoolLike[]): Expr<'boolean'> {
  return preds.reduce<Expr<'boolean'>>((a, p, i) => (i === 0 ? new Expr('boolean', operand(p, 'boolean', `preds[0]`)) : a.or(p)), lit(false));
}

export function not(pred: BoolLike): Expr<'boolean'> {
  return new Expr('boolean', { not: [operand(pred, 'boolean', 'pred')] });
}

/**
 * Type-checks an expression in JSON form against the fields of its input
 * (`null`: not known, column names are then checked when the batch arrives).
 * Reports problems at `path` (`nodes.f1.expr.gt[0]`); returns the type, or null on a problem.
 */
export function checkExpr(e: unknown, fields: Fields, path: string, problem: (path: string, message: string) => void, depth = 0): ExprType | null {
  if (depth > 64) return (problem(path, 'expression nested deeper than 64 levels'), null);
  if (typeof e === 'number') return Number.isFinite(e) ? 'number' : (problem(path, `literal ${e} is not finite`), null);
  if (typeof e === 'boolean') return 'boolean';
  if (typeof e === 'string') return checkColumn(e, fields, path, problem);
  if (e === null || typeof e !== 'object' || Array.isArray(e) || Object.keys(e).length !== 1) {
    problem(path, `expected a number, a column name or { operator: [arguments] }, got ${JSON.stringify(e)}`);
    return null;
  }
  const [op, raw] = Object.entries(e as Record<string, unknown>)[0];
  if (op === 'col') return typeof raw === 'string' ? checkColumn(raw, fields, path, problem) : (problem(`${path}.col`, 'expected a column name'), null);
  if (op === 'lit') return typeof raw === 'number' || typeof raw === 'boolean' ? checkExpr(raw, fields, `${path}.lit`, problem, depth + 1) : (problem(`${path}.lit`, 'expected a number or a boolean'), null);
  const sig = BINARY[op] ?? UNARY[op];
  if (!sig) return (problem(path, `unknown operator '${op}' (one of ${EXPR_OPERATORS.join(', ')}, col, lit)`), null);
  const args = Array.isArray(raw) ? raw : [raw];
  const arity = op in BINARY ? 2 : 1;
  if (args.length !== arity) return (problem(`${path}.${op}`, `takes ${arity} argument${arity > 1 ? 's' : ''}, got ${args.length}`), null);
  let ok = true;
  args.forEach((a, i) => {
    const t = checkExpr(a, fields, `${path}.${op}[${i}]`, problem, depth + 1);
    if (t === null) ok = false;
    else if (t !== sig[0]) {
      problem(`${path}.${op}[${i}]`, `type mismatch: '${op}' needs a ${sig[0]}, this is a ${t}`);
      ok = false;
    }
  });
  return ok ? sig[1] : null;
}

function checkColumn(name: string, fields: Fields, path: string, problem: (path: string, message: string) => void): ExprType | null {
  if (fields === null) return 'number';
  const t = fields[name];
  if (t === undefined) return (problem(path, `unknown column '${name}' (columns: ${Object.keys(fields).join(', ') || 'none'})`), null);
  if (t !== 'number' && t !== 'unknown') return (problem(path, `type mismatch: column '${name}' is ${t}, expressions read number columns`), null);
  return 'number';
}

/** The JSON form of an expression argument (an `Expr` or already JSON). */
export function exprJson(e: Expr | ExprJson): ExprJson {
  return e instanceof Expr ? e.json : e;
}
