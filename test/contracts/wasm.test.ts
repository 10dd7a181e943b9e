// The WebAssembly target beyond Node: the same module bytes and encoded inputs replayed under
// wasmtime (Python, installed by .ci/run) give Cedar's decisions; constructs the target cannot
// compile are a positioned ERR_OMNI_UNSUPPORTED; bad inputs are OmniErrors.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import * as c from '../../ts/contracts/index.js';
import * as abi from '../../ts/contracts/wasm.js';
import { HANDWRITTEN, genEntities, genPolicySet, genRequest, rng } from './corpus.js';
import { thrown } from '../helpers/thrown.js';

function cedarAllows(policies: string, entities: c.Entity[], req: c.AuthRequest): boolean {
  const a = cedar.isAuthorized({ principal: req.principal, action: req.action, resource: req.resource, context: (req.context ?? {}) as never, policies: { staticPolicies: policies }, entities: entities as never });
  if (a.type !== 'success') throw new Error(`cedar failed: ${JSON.stringify(a.errors)}`);
  return a.response.decision === 'allow';
}

/** The inputs of one case laid out exactly as a fresh instance of the module will place them. */
async function wasmCase(policies: string, entities: c.Entity[], requests: c.AuthRequest[]) {
  const { bytes } = c.compileWasm(policies);
  const instance = await abi.WA.instantiate(new abi.WA.Module(bytes), {});
  const x = instance.exports as unknown as abi.WasmExports;
  const storeBase = x.heap.value;
  const store = abi.encodeStore(JSON.stringify(entities), storeBase);
  abi.place(x, () => store);
  const requestsBase = x.heap.value;
  const reqs = abi.encodeRequests(JSON.stringify(requests), requestsBase);
  const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');
  return { module: b64(bytes), store: b64(store), requests: b64(reqs), storeBase, requestsBase, count: requests.length };
}

/** Runs the cases under wasmtime in a child process (asynchronously: it takes a few seconds). */
async function wasmtime(cases: unknown[]): Promise<number[][] | undefined> {
  const r = await new Promise<{ status: number | null; stdout: string; stderr: string; error?: Error }>((done) => {
    const p = spawn('python3', [join(__dirname, 'wasm_runtime.py')]);
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', (error) => done({ status: null, stdout, stderr, error }));
    p.on('close', (status) => done({ status, stdout, stderr }));
    p.stdin.end(JSON.stringify({ cases }));
  });
  if (r.status === 3 || r.error) {
    const why = r.error ? `python3 not runnable: ${r.error.message}` : 'the Python package `wasmtime` is not installed (pip install wasmtime)';
    if (process.env.CI === 'true') throw new Error(`second wasm runtime missing under CI: ${why}`);
    console.warn(`\n*** SKIPPING the wasmtime replay of the contracts WASM target: ${why} ***\n`);
    return undefined;
  }
  if (r.status !== 0) throw new Error(`wasmtime runner failed: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { decisions: number[][] }).decisions;
}

describe('contracts WASM target', () => {
  it('gives Cedar\'s decisions under wasmtime too (hand-written and generated sets)', { timeout: 120_000 }, async () => {
    const sets: { policies: string; entities: c.Entity[]; requests: c.AuthRequest[] }[] = [];
    const r = rng(99);
    HANDWRITTEN.forEach((policies, k) => {
      const rr = rng(500 + k);
      sets.push({ policies, entities: genEntities(rr), requests: Array.from({ length: 50 }, () => genRequest(rr)) });
    });
    for (let k = 0; k < 12; k++) {
      sets.push({ policies: genPolicySet(r, 1 + Math.floor(r() * 8)), entities: genEntities(r), requests: Array.from({ length: 30 }, () => genRequest(r)) });
    }
    const cases = [];
    for (const s of sets) cases.push(await wasmCase(s.policies, s.entities, s.requests));
    const got = await wasmtime(cases);
    if (got === undefined) return;
    let allows = 0, total = 0;
    sets.forEach((s, k) => {
      s.requests.forEach((req, i) => {
        const want = cedarAllows(s.policies, s.entities, req);
        expect(got[k][i] === 1, `set ${k} request ${i}: ${JSON.stringify(req)}\n${s.policies}`).toBe(want);
        allows += want ? 1 : 0;
        total++;
      });
    });
    expect(allows).toBeGreaterThan(total / 20);
    expect(allows).toBeLessThan(total - total / 20);
  });

  it('refuses constructs it cannot compile with their position', () => {
    const src = 'permit(principal, action, resource)\n  when { ip(context.addr).isIpv4() };';
    const e = thrown(() => c.compileWasm(src, { file: 'p.cedar' }));
    expect(e.code).toBe('ERR_OMNI_UNSUPPORTED');
    expect(e.message).toContain('p.cedar:2:10: error: the WebAssembly target cannot compile ip() of a computed string');
    expect(e.message).toContain('^');
    // The other targets still take it.
    expect(c.compileJs(src).source.length).toBeGreaterThan(0);
  });

  it('skips erroring policies like the evaluator (overflow, missing attributes, wrong types)', async () => {
    const src = `@id("ovf") permit(principal, action, resource) when { context.n + 9223372036854775807 > 0 };
@id("missing") permit(principal, action, resource) when { principal.nope == 1 };
@id("type") forbid(principal, action, resource) when { context.s < 3 };
@id("ok") permit(principal, action, resource) when { context.n == 1 };`;
    const w = await c.compileWasm(src).instantiate([{ uid: { type: 'User', id: 'a' }, attrs: {}, parents: [] }]);
    const req = { principal: { type: 'User', id: 'a' }, action: { type: 'Action', id: 'x' }, resource: { type: 'Doc', id: 'd' }, context: { n: 1, s: 'x' } };
    const e = w.explain(req);
    expect(e).toMatchObject({ decision: 'allow', reasons: ['ok'] });
    expect(e.errors.map((x) => x.policy)).toEqual(['ovf', 'missing', 'type']);
    expect(c.evaluate(src, { entities: [{ uid: { type: 'User', id: 'a' } }], requests: [req] })[0].errors.map((x) => x.policy)).toEqual(['ovf', 'missing', 'type']);
    expect(w.decide({ ...req, context: { n: 2, s: 'x' } })).toBe(false);
  });

  it('rejects bad inputs with OmniErrors', async () => {
    const w = await c.compileWasm('permit(principal, action, resource);').instantiate([]);
    expect(thrown(() => w.decide({ principal: { type: 'User' } } as never)).code).toBe('ERR_OMNI_INVALID_ARGUMENT');
    expect(thrown(() => w.decidePrepared()).message).toContain('prepare');
    await expect(c.compileWasm('permit(principal, action, resource);').instantiate([{ uid: { type: 'G', id: 'a' }, parents: [{ type: 'G', id: 'a' }] }])).rejects.toMatchObject({ message: expect.stringContaining('cycle') });
    expect(thrown(() => c.compileWasm('permit(principal, action, resource) when { 1 };')).code).toBe('ERR_OMNI_CONTRACT_INVALID');
  });
});
