import { readFileSync } from 'node:fs';
import * as sym from '../symbolic/index.js';
import { type Command, type CommandGroup, out, parse, printJson, UsageError } from './command.js';

function one(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new UsageError(`expected exactly one ${what}, got ${positionals.length}`);
  return positionals[0];
}

function simple(summary: string, usage: string, f: (expr: string, values: Record<string, string | boolean | undefined>) => unknown): Command {
  return {
    summary,
    usage,
    async run(argv) {
      const { values, positionals } = parse(argv, { positive: { type: 'string' }, var: { type: 'string', short: 'v' } });
      const r = f(one(positionals, 'expression'), values);
      if (values.json) printJson(r);
      else out(typeof r === 'string' ? r : typeof r === 'object' && r && 'expr' in r ? String((r as { expr: string }).expr) : JSON.stringify(r));
      return 0;
    },
  };
}

const opts = (v: Record<string, string | boolean | undefined>) =>
  typeof v.positive === 'string' ? { assume: { positive: v.positive.split(',') } } : undefined;

export const symbolicCommands: CommandGroup = {
  summary: 'simplify, factor, differentiate, prove equalities, solve SAT',
  commands: {
    simplify: simple('canonical simplification', 'omnitide symbolic simplify EXPR [--positive x,y] [--json]', (e, v) => sym.simplify(e, opts(v))),
    expand: simple('expand products and powers', 'omnitide symbolic expand EXPR [--json]', (e) => sym.expand(e)),
    factor: simple('factor over the integers', 'omnitide symbolic factor EXPR [--json]', (e) => sym.factor(e)),
    rationalize: simple('numerator/denominator form', 'omnitide symbolic rationalize EXPR [--json]', (e) => sym.rationalize(e)),
    tex: simple('LaTeX of an expression', 'omnitide symbolic tex EXPR', (e) => sym.toTex(e)),
    derivative: simple('d/dVAR', 'omnitide symbolic derivative EXPR --var x [--json]', (e, v) => {
      if (typeof v.var !== 'string') throw new UsageError('--var is required');
      return sym.derivative(e, v.var);
    }),
    equivalent: {
      summary: 'prove or refute A = B',
      usage: 'omnitide symbolic equivalent A B [--json]',
      async run(argv) {
        const { values, positionals } = parse(argv, {});
        if (positionals.length !== 2) throw new UsageError('expected two expressions');
        const r = sym.equivalent(positionals[0], positionals[1]);
        if (values.json) printJson(r);
        else out(r.status === 'equal' ? `equal (${r.proof.length} steps)` : r.status === 'different' ? `different at ${JSON.stringify(r.counterexample)}` : `unknown: ${r.reason}`);
        return r.status === 'different' ? 1 : 0;
      },
    },
    sat: {
      summary: 'solve a DIMACS file or a boolean expression (UNSAT answers carry a DRAT proof)',
      usage: 'omnitide symbolic sat (FILE.cnf | --expr "a and not b") [--json]',
      async run(argv) {
        const { values, positionals } = parse(argv, { expr: { type: 'string' } });
        const input = typeof values.expr === 'string' ? values.expr : { dimacs: readFileSync(one(positionals, 'CNF file'), 'utf8') };
        const r = await sym.sat.solveAsync(input);
        if (values.json) printJson(r);
        else out(r.sat ? `SAT ${JSON.stringify(r.model)}` : `UNSAT (DRAT proof, ${(r.proof?.text ?? "").split('\n').length - 1} lines)`);
        return r.sat ? 10 : 20;
      },
    },
  },
};
