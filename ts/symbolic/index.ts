/**
 * omnitide/symbolic: mathjs-compatible parsing, canonical simplification over exact
 * rationals, factoring, derivatives, equivalence with checkable proofs, SAT with DRAT
 * certificates and compiled evaluators. All work happens in the native crate.
 */
import { z } from 'zod';
import { callNative, callNativeAsync, invalidArgument } from '../errors.js';
import { native } from '../native.js';
import { parseOptions } from '../validate.js';
import type { SymbolicCompiled, SymbolicEquivalence, SymbolicOptions, SymbolicSatAnswer, SymbolicSatInput } from '../native.js';

export interface Limits {
  /** Largest number of terms an expansion may produce (default 100000). */
  maxTerms?: number;
  /** Largest integer exponent expanded symbolically (default 10000). */
  maxExponent?: number;
  /** Deepest parenthesis/unary nesting accepted by the parser (default 500). */
  maxDepth?: number;
  /** E-graph node limit for rewriting / proofs (default 20000). */
  nodes?: number;
  /** Equality-saturation iterations (default 30). */
  iterations?: number;
  /** Wall-clock budget in ms. Rewriting and `equivalent` default to 2000 (past it they answer
   *  `unknown`); given explicitly it also bounds simplify/expand/factor/... (past it they
   *  throw `ERR_OMNI_LIMIT`; `factor` leaves the rest unfactored with `complete: false`). */
  timeMs?: number;
  /** `factor`: square-free parts of higher degree (and multivariate inputs whose Kronecker
   *  image is of higher degree) are left unfactored (default 200). */
  factorMaxDegree?: number;
  /** `factor`: time budget in ms per square-free part (default 5000). */
  factorTimeMs?: number;
}
/** A rewrite rule: mathjs rule string (`'n1*n3 + n2*n3 -> (n1+n2)*n3'`, `<->` for both
 *  directions; `n*` match anything, `c*` numbers, `v*` non-numbers) or `{ l, r, name? }`. */
export type Rule = string | { l: string; r: string; name?: string };
export interface SimplifyOptions {
  assume?: { real?: boolean; positive?: string[] };
  /** Cancel common factors of numerator and denominator (default true; the cancelled
   *  factors are reported in `conditions`). With false a cancellation throws. */
  allowCancel?: boolean;
  /** Try sin^2 + cos^2 = 1 and keep the shorter result (default true). */
  trig?: boolean;
  /** With rules, simplify rewrites by equality saturation and returns the smallest term. */
  rules?: Rule[];
  limits?: Limits;
}
export interface Simplified {
  expr: string;
  /** The result equals the input wherever these hold (e.g. `x - 1 != 0`). */
  conditions: string[];
  /** With `rules`: the rewrite steps from the input to the result (replayable with checkProof). */
  steps?: Step[];
}

const limitsSchema = z.strictObject({
  maxTerms: z.number().int().min(1).optional(),
  maxExponent: z.number().int().min(1).optional(),
  maxDepth: z.number().int().min(1).max(100_000).optional(),
  nodes: z.number().int().min(1).optional(),
  iterations: z.number().int().min(1).optional(),
  timeMs: z.number().int().min(1).optional(),
  factorMaxDegree: z.number().int().min(1).max(100_000).optional(),
  factorTimeMs: z.number().int().min(0).optional(),
});
const ruleSchema = z.union([z.string(), z.strictObject({ l: z.string(), r: z.string(), name: z.string().optional() })]);
const optionsSchema = z.strictObject({
  assume: z.strictObject({ real: z.boolean().optional(), positive: z.array(z.string()).optional() }).optional(),
  allowCancel: z.boolean().optional(),
  trig: z.boolean().optional(),
  rules: z.array(ruleSchema).optional(),
  limits: limitsSchema.optional(),
});

function exprArg(arg: string, v: unknown): string {
  if (typeof v !== 'string') throw invalidArgument(arg, `must be a string in mathjs syntax, got ${typeof v}`);
  return v;
}
function opts(o: unknown): SimplifyOptions | undefined {
  return o === undefined ? undefined : parseOptions('opts', optionsSchema, o);
}
/** Options plus the proof operations' `defaultRules` switch, validated. */
function proofOpts(o: (SimplifyOptions & { defaultRules?: boolean }) | undefined): SymbolicOptions | undefined {
  if (o === undefined) return undefined;
  const { defaultRules, ...rest } = o;
  if (defaultRules !== undefined && typeof defaultRules !== 'boolean') throw invalidArgument('opts.defaultRules', 'must be a boolean');
  return { ...opts(rest), defaultRules };
}
function exprList(exprs: unknown): string[] {
  if (!Array.isArray(exprs)) throw invalidArgument('exprs', 'must be an array of strings');
  exprs.forEach((e, i) => exprArg(`exprs[${i}]`, e));
  return exprs;
}

/** Parses and prints back in mathjs syntax (normalised spacing/parentheses). */
export function parse(expr: string): { expr: string; tex: string; variables: string[] } {
  return callNative(() => native.symbolicParse(exprArg('expr', expr)));
}
export function toTex(expr: string): string {
  return parse(expr).tex;
}
/** Canonical form: equal polynomials / rational functions give identical strings. */
export function simplify(expr: string, options?: SimplifyOptions): Simplified {
  return callNative(() => native.symbolicSimplify(exprArg('expr', expr), opts(options)));
}
export function simplifyAsync(expr: string, options?: SimplifyOptions): Promise<Simplified> {
  return callNativeAsync(() => native.symbolicSimplifyAsync(exprArg('expr', expr), opts(options)));
}
export type ManyResult = Simplified | { error: { code: string; message: string } };
/** Simplifies many expressions in one native call; per-item errors are returned in place. */
export function simplifyMany(exprs: string[], options?: SimplifyOptions): ManyResult[] {
  return callNative(() => native.symbolicSimplifyMany(exprList(exprs), opts(options)));
}
export function simplifyManyAsync(exprs: string[], options?: SimplifyOptions): Promise<ManyResult[]> {
  return callNativeAsync(() => native.symbolicSimplifyManyAsync(exprList(exprs), opts(options)));
}
export function expand(expr: string, options?: SimplifyOptions): Simplified {
  return callNative(() => native.symbolicExpand(exprArg('expr', expr), opts(options)));
}
export function rationalize(expr: string, options?: SimplifyOptions): { expr: string; numerator: string; denominator: string } {
  return callNative(() => native.symbolicRationalize(exprArg('expr', expr), opts(options)));
}
/** `factor` with `complete: false` when a limit left a factor unsplit (it may be reducible). */
export interface Factored {
  expr: string;
  complete: boolean;
}
/** Factors over the integers (univariate and multivariate); every factor is irreducible
 *  unless a limit was hit (see `factorFull`). */
export function factor(expr: string, options?: SimplifyOptions): string {
  return factorFull(expr, options).expr;
}
export function factorFull(expr: string, options?: SimplifyOptions): Factored {
  return callNative(() => native.symbolicFactor(exprArg('expr', expr), opts(options)));
}
/** `factor` off the event loop (the libuv pool). */
export async function factorAsync(expr: string, options?: SimplifyOptions): Promise<string> {
  return (await factorFullAsync(expr, options)).expr;
}
export function factorFullAsync(expr: string, options?: SimplifyOptions): Promise<Factored> {
  return callNativeAsync(() => native.symbolicFactorAsync(exprArg('expr', expr), opts(options)));
}
export function derivative(expr: string, variable: string, options?: SimplifyOptions): Simplified {
  return callNative(() => native.symbolicDerivative(exprArg('expr', expr), exprArg('variable', variable), opts(options)));
}
export function substitute(expr: string, map: Record<string, string | number>): string {
  if (typeof map !== 'object' || map === null) throw invalidArgument('map', 'must be an object');
  for (const [k, v] of Object.entries(map)) {
    if (typeof v !== 'string' && typeof v !== 'number') throw invalidArgument(`map.${k}`, 'must be a string or number');
  }
  return callNative(() => native.symbolicSubstitute(exprArg('expr', expr), map));
}
/**
 * Evaluates in IEEE double arithmetic, like mathjs with `number: 'number'`: `1/0` is
 * `Infinity`, `0/0` and `sqrt(-1)` are `NaN` (the result is always a `number`, possibly
 * non-finite; check with `Number.isFinite`). Unknown symbols and functions throw.
 */
export function evaluate(expr: string, scope: Record<string, number> = {}): number {
  if (typeof scope !== 'object' || scope === null) throw invalidArgument('scope', 'must be an object of numbers');
  for (const [k, v] of Object.entries(scope)) {
    if (typeof v !== 'number') throw invalidArgument(`scope.${k}`, 'must be a number');
  }
  return callNative(() => native.symbolicEvaluate(exprArg('expr', expr), scope));
}

export interface Step {
  /** Rule name (`comm-add`, `distribute`, `fold-add`, a user rule's name, or `normal-form`). */
  rule: string;
  /** The subterm the rule produced, mathjs syntax. */
  subterm: string;
  /** The whole expression after this step, mathjs syntax. */
  result: string;
  direction?: 'forward' | 'backward';
  /** The whole expression after this step as an s-expression (what `checkProof` replays). */
  term?: string;
}
/**
 * Switch on `status`. `equal` is kept for old callers and is deprecated: its `'unknown'`
 * value is truthy, so `if (res.equal)` would treat unknown as equal.
 */
export type Equivalence =
  | {
      status: 'equal';
      /** @deprecated use `status` */
      equal: true;
      method: 'rewrite' | 'normal-form';
      proof: Step[];
      /** The equality holds wherever these hold (factors cancelled on either side are non-zero). */
      conditions: string[];
    }
  | {
      status: 'different';
      /** @deprecated use `status` */
      equal: false;
      counterexample: Record<string, number>;
      values: [number, number];
    }
  | {
      status: 'unknown';
      /** @deprecated use `status` */
      equal: 'unknown';
      reason: string;
    };

/**
 * Is `a = b`? A numeric point that separates them gives `{ equal: false }`; otherwise an
 * e-graph (egg) search with the default algebra rules plus `options.rules` gives a proof whose
 * steps name the rule and subterm; failing that the canonical normal form decides; `'unknown'`
 * when the limits stop the search.
 */
export function equivalent(a: string, b: string, options?: SimplifyOptions & { defaultRules?: boolean }): Equivalence {
  return withEqual(callNative(() => native.symbolicEquivalent(exprArg('a', a), exprArg('b', b), proofOpts(options))));
}
/** Adds the deprecated `equal` field beside `status`. */
function withEqual(r: SymbolicEquivalence): Equivalence {
  switch (r.status) {
    case 'equal':
      return { ...r, equal: true };
    case 'different':
      return { ...r, equal: false };
    case 'unknown':
      return { ...r, equal: 'unknown' };
  }
}
const stepSchema = z.object({
  rule: z.string(),
  subterm: z.string().optional(),
  result: z.string().optional(),
  term: z.string().optional(),
  direction: z.enum(['forward', 'backward']).optional(),
});
/** Replays a proof independently of the search (pattern matching per step, exact arithmetic). */
export function checkProof(a: string, b: string, proof: Step[], options?: SimplifyOptions & { defaultRules?: boolean }): { valid: boolean; reason?: string } {
  if (!Array.isArray(proof)) throw invalidArgument('proof', 'must be an array of steps');
  const steps = parseOptions('proof', z.array(stepSchema), proof);
  return callNative(() => native.symbolicCheckProof(exprArg('a', a), exprArg('b', b), steps, proofOpts(options)));
}
/** Why equality saturation stopped: `saturated` (no rule applies any more, so `expr` is the
 *  smallest term of its whole class), or the limit that stopped it first. */
export type StopReason = 'saturated' | 'iterationLimit' | 'nodeLimit' | 'timeLimit' | 'other';
/** Rewrites with the given rules only (equality saturation) and returns the smallest term. */
export function rewrite(expr: string, rules: Rule[], options?: { limits?: Limits }): { expr: string; stopReason: StopReason } {
  const o = opts({ rules, ...(options ?? {}) });
  return callNative(() => native.symbolicRewrite(exprArg('expr', expr), o));
}

export type Cnf = number[][] | { dimacs: string };
export type SatResult =
  | { sat: true; model: number[] | Record<string, boolean> }
  | { sat: false; proof: { format: 'drat'; text: string } | null; cnf?: string };

const clausesSchema = z.array(z.array(z.number().int()));
function satArgs(input: Cnf | string): SymbolicSatInput {
  if (typeof input === 'string') return { expr: input };
  if (Array.isArray(input)) return { clauses: parseOptions('cnf', clausesSchema, input) };
  if (input && typeof input === 'object' && typeof (input as { dimacs?: unknown }).dimacs === 'string') return { dimacs: input.dimacs };
  throw invalidArgument('input', 'must be clauses (number[][]), { dimacs } or a boolean expression string');
}

function fromSat(r: SymbolicSatAnswer): SatResult {
  if (r.kind === 'sat') return { sat: true, model: r.model };
  const proof = r.drat == null ? null : { format: 'drat' as const, text: r.drat };
  return r.cnf == null ? { sat: false, proof } : { sat: false, proof, cnf: r.cnf };
}

function satProof(o: unknown): boolean {
  return parseOptions('opts', z.strictObject({ proof: z.boolean().optional() }), o ?? {}).proof ?? true;
}

export const sat = {
  /** Solves CNF clauses, DIMACS text or a boolean expression (`a and not b or c`).
   *  UNSAT answers carry a DRAT proof unless `proof: false` (CNF input only). */
  solve(input: Cnf | string, options?: { proof?: boolean }): SatResult {
    return fromSat(callNative(() => native.symbolicSatSolve(satArgs(input), satProof(options))));
  },
  solveAsync(input: Cnf | string, options?: { proof?: boolean }): Promise<SatResult> {
    const proof = satProof(options);
    return callNativeAsync(() => native.symbolicSatSolveAsync(satArgs(input), proof)).then(fromSat);
  },
  /** Independent forward DRAT check of an UNSAT proof. */
  checkProof(cnf: Cnf, drat: string): { valid: boolean; lemmas: number; reason: string } {
    if (typeof drat !== 'string') throw invalidArgument('drat', 'must be DRAT text');
    return callNative(() => native.symbolicSatCheck(satArgs(cnf), drat));
  },
  /** Canonical form (ROBDD paths, variables in name order): equivalent inputs give equal strings. */
  canonical(expr: string): string {
    return callNative(() => native.symbolicBoolCanonical(exprArg('expr', expr)));
  },
};

export interface Compiled {
  readonly variables: string[];
  evaluate(values: number[]): number;
}

/** Compiles the canonical form of `expr` into a stack-machine evaluator (`options` as for
 *  `simplify`: assumptions, `allowCancel`, limits). */
export function compile(expr: string, variables: string[], options?: SimplifyOptions): Compiled {
  exprArg('expr', expr);
  if (!Array.isArray(variables)) throw invalidArgument('variables', 'must be an array of names');
  const o = opts(options);
  const inner = callNative(() => new native.SymbolicCompiled(expr, variables, o));
  const compiled: Compiled = {
    variables: [...variables],
    evaluate: (values: number[]) => callNative(() => inner.evaluate(values)),
  };
  compiledInner.set(compiled, inner);
  return compiled;
}
/** The native evaluator behind each object `compile` handed out. */
const compiledInner = new WeakMap<Compiled, SymbolicCompiled>();

/** Evaluates a compiled expression over columns (one Float64Array per variable). */
export function evaluateMany(compiled: Compiled, columns: Float64Array[]): Float64Array {
  const inner = typeof compiled === 'object' && compiled !== null ? compiledInner.get(compiled) : undefined;
  if (!inner) throw invalidArgument('compiled', 'must come from compile()');
  if (!Array.isArray(columns) || !columns.every((c) => c instanceof Float64Array)) {
    throw invalidArgument('columns', 'must be an array of Float64Array');
  }
  const out = new Float64Array(columns.length ? columns[0].length : 0);
  callNative(() => inner.evaluateMany(columns, out));
  return out;
}
