// Differential tests: the native evaluator, the generated JS closure, the native batch engine
// and the WebAssembly module must give Cedar's decision (the oracle: @cedar-policy/cedar-wasm)
// on every request. The same modules and encoded inputs are also replayed under wasmtime
// (test/contracts/wasm.test.ts).
import { describe, expect, it } from 'vitest';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import * as c from '../../ts/contracts/index.js';
import { HANDWRITTEN, genEntities, genPolicySet, genRequest, rng } from './corpus.js';

function cedarDecision(policies: string, entities: c.Entity[], req: c.AuthRequest): 'allow' | 'deny' {
  const a = cedar.isAuthorized({ principal: req.principal, action: req.action, resource: req.resource, context: (req.context ?? {}) as never, policies: { staticPolicies: policies }, entities: entities as never });
  if (a.type !== 'success') throw new Error(`cedar failed: ${JSON.stringify(a.errors)}`);
  return a.response.decision;
}

async function compareAll(policies: string, seed: number, nRequests: number) {
  const r = rng(seed);
  const entities = genEntities(r);
  const requests = Array.from({ length: nRequests }, () => genRequest(r));
  const ours = c.evaluate(policies, { entities, requests });
  const js = c.compileJs(policies).load(entities);
  const batch = new c.Engine(policies, entities).decideBatch(requests);
  const wasm = await c.compileWasm(policies).instantiate(entities);
  wasm.prepare(requests);
  const wasmBatch = wasm.decidePrepared();
  let allows = 0;
  requests.forEach((req, i) => {
    const oracle = cedarDecision(policies, entities, req);
    const ctx = `policies:\n${policies}\nrequest ${i}: ${JSON.stringify(req)}`;
    expect(ours[i].decision, ctx).toBe(oracle);
    expect(js.decide(req) ? 'allow' : 'deny', ctx).toBe(oracle);
    expect(js.explain(req).decision, ctx).toBe(oracle);
    expect(js.explain(req).reasons, ctx).toEqual(ours[i].reasons);
    expect(batch[i] === 1 ? 'allow' : 'deny', ctx).toBe(oracle);
    expect(wasm.decide(req) ? 'allow' : 'deny', ctx).toBe(oracle);
    expect(wasmBatch[i] === 1 ? 'allow' : 'deny', ctx).toBe(oracle);
    const we = wasm.explain(req);
    expect(we.decision, ctx).toBe(oracle);
    expect(we.reasons, ctx).toEqual(ours[i].reasons);
    expect(we.errors.map((e) => e.policy), ctx).toEqual(ours[i].errors.map((e) => e.policy));
    if (oracle === 'allow') allows++;
  });
  return { allows, total: requests.length };
}

describe('contracts vs Cedar (cedar-wasm oracle)', () => {
  it('agrees on the hand-written corpus', { timeout: 180_000 }, async () => {
    for (const [k, p] of HANDWRITTEN.entries()) {
      for (let s = 1; s <= 3; s++) await compareAll(p, 1000 * k + s, 60);
    }
  });
  it('agrees on generated policy sets, entity stores and requests', { timeout: 180_000 }, async () => {
    const r = rng(4242);
    let allows = 0, total = 0;
    for (let k = 0; k < 40; k++) {
      const set = genPolicySet(r, 1 + Math.floor(r() * 8));
      const x = await compareAll(set, 77 + k, 40);
      allows += x.allows;
      total += x.total;
    }
    // The corpus must exercise both outcomes, or agreement proves little.
    expect(allows).toBeGreaterThan(total / 20);
    expect(allows).toBeLessThan(total - total / 20);
  });
});
