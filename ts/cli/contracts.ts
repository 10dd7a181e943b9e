import { readFileSync, writeFileSync } from 'node:fs';
import * as c from '../contracts/index.js';
import { invalidArgument } from '../errors.js';
import { type CommandGroup, out, parse, printJson, UsageError } from './command.js';

function read(path: string | undefined, what: string): string {
  if (path === undefined) throw new UsageError(`expected a ${what} file`);
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw invalidArgument(what, `cannot read ${path}: ${(e as Error).message}`, e);
  }
}
function json(path: string | undefined, what: string): unknown {
  if (path === undefined) return undefined;
  try {
    return JSON.parse(read(path, what));
  } catch (e) {
    if (e instanceof SyntaxError) throw invalidArgument(what, `${path} is not JSON: ${e.message}`, e);
    throw e;
  }
}

export const contractsCommands: CommandGroup = {
  summary: 'check, evaluate, prove, diff, format and compile policy/rate-limit/SLO contracts',
  commands: {
    check: {
      summary: 'type-check and analyse a contract (diagnostics with line:column, SAT-backed findings)',
      usage: 'omnitide contract check FILE [--metrics a,b] [--json]',
      async run(argv) {
        const { values, positionals } = parse(argv, { metrics: { type: 'string' } });
        const src = read(positionals[0], 'contract');
        const r = await c.checkAsync(src, { file: positionals[0], ...(typeof values.metrics === 'string' ? { metrics: values.metrics.split(',') } : {}) });
        if (values.json) printJson(r);
        else {
          for (const d of r.diagnostics) out(d.rendered);
          for (const f of r.findings) out(`${f.kind}: ${f.message} [${f.evidence}]`);
          if (r.ok) out(`ok: ${r.summary?.policies ?? 0} policies, ${r.summary?.rateLimits ?? 0} rate limits, ${r.summary?.slos ?? 0} SLOs, ${r.findings.length} findings`);
        }
        return r.ok ? 0 : 1;
      },
    },
    fmt: {
      summary: 'print the canonical formatting (idempotent); --write rewrites the file',
      usage: 'omnitide contract fmt FILE [--write] [--json]',
      async run(argv) {
        const { values, positionals } = parse(argv, { write: { type: 'boolean' } });
        const src = read(positionals[0], 'contract');
        const f = c.format(src);
        if (values.write) (await import('node:fs')).writeFileSync(positionals[0], f);
        else if (values.json) printJson({ formatted: f, changed: f !== src });
        else process.stdout.write(f);
        return 0;
      },
    },
    eval: {
      summary: 'decide requests (JSON array) against a contract and entity store, with the deciding policies',
      usage: 'omnitide contract eval FILE --requests REQS.json [--entities ENTS.json] [--json]',
      async run(argv) {
        const { values, positionals } = parse(argv, { requests: { type: 'string' }, entities: { type: 'string' } });
        const src = read(positionals[0], 'contract');
        if (typeof values.requests !== 'string') throw new UsageError('--requests is required');
        const r = c.evaluate(src, { requests: json(values.requests, 'requests') as c.AuthRequest[], entities: json(values.entities, 'entities') as c.Entity[] | undefined });
        if (values.json) printJson(r);
        else r.forEach((d, i) => out(`${i}: ${d.decision}${d.reasons.length ? ` by ${d.reasons.join(', ')}` : ' (default deny)'}${d.errors.length ? `; skipped on error: ${d.errors.map((e) => e.policy).join(', ')}` : ''}`));
        return 0;
      },
    },
    prove: {
      summary: 'prove (DRAT-checked) or refute (replayed counterexample) the contract\'s assert items',
      usage: 'omnitide contract prove FILE [--assert "assert never permit when { ... };"] [--json]',
      async run(argv) {
        const { values, positionals } = parse(argv, { assert: { type: 'string' } });
        const src = read(positionals[0], 'contract');
        const r = await c.prove(src, typeof values.assert === 'string' ? { assertions: values.assert } : undefined);
        if (values.json) printJson(r);
        else
          for (const x of r)
            out(`${x.id}: ${x.status}${x.status === 'proved' ? ` (DRAT proof checked, ${x.proof.lemmas} lemmas)` : x.status === 'refuted' ? ` by ${JSON.stringify(x.request)}` : `: ${x.reason}`}`);
        return r.every((x) => x.status === 'proved') ? 0 : 1;
      },
    },
    diff: {
      summary: 'a request two versions decide differently, or a proof that they agree',
      usage: 'omnitide contract diff BEFORE AFTER [--json]',
      async run(argv) {
        const { values, positionals } = parse(argv, {});
        if (positionals.length !== 2) throw new UsageError('expected two contract files');
        const r = await c.diff(read(positionals[0], 'before'), read(positionals[1], 'after'));
        if (values.json) printJson(r);
        else out(r.status === 'equivalent' ? 'equivalent (DRAT proof checked)' : r.status === 'different' ? `different: ${r.before} -> ${r.after} for ${JSON.stringify(r.request)}` : `unknown: ${r.reason}`);
        return r.status === 'equivalent' ? 0 : 1;
      },
    },
    compile: {
      summary: 'compile the access policies to a JavaScript module (CommonJS: module.exports = load) or a WebAssembly module',
      usage: 'omnitide contract compile FILE [--target js|wasm] [--out FILE.wasm] [--json]',
      async run(argv) {
        const { values, positionals } = parse(argv, { target: { type: 'string' }, out: { type: 'string' } });
        const src = read(positionals[0], 'contract');
        const target = values.target ?? 'js';
        if (target === 'wasm') {
          if (typeof values.out !== 'string') throw new UsageError('--target wasm needs --out FILE.wasm');
          const w = c.compileWasm(src, { file: positionals[0] });
          writeFileSync(values.out, w.bytes);
          if (values.json) printJson({ target, out: values.out, bytes: w.bytes.length, policies: w.policies });
          else out(`${values.out}: ${w.bytes.length} bytes, ${w.policies.length} policies`);
          return 0;
        }
        if (target !== 'js') throw new UsageError(`unknown --target '${String(target)}' (supported: js, wasm)`);
        const js = c.compileJs(src).source;
        if (values.json) printJson({ target, source: js });
        else out(`module.exports = ${js};`);
        return 0;
      },
    },
  },
};
