/**
 * Reports (JSON, summary, SVG) and the opt-in audit trail: a run signed
 * through omnitide/attest (verifiable, logged in its audit ledger) or appended
 * to an omnitide/ledger log. No kernel needed: function probes only.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Authority, verify } from '../../ts/attest/index.js';
import { attestRuns, CHAOS_PREDICATE, experiment, ledgerRuns, probe, runExperiment } from '../../ts/chaos/index.js';
import { Ledger } from '../../ts/ledger/index.js';
import { tempStateDir } from './env.js';

describe('omnitide/chaos reports and audit trail', () => {
  const state = tempStateDir();
  afterAll(() => state.remove());
  let n = 0;
  const exp = () =>
    experiment('report me')
      .hypothesis('value in range', probe('value', { type: 'function', fn: () => ++n }, (v) => (v as number) < 1000))
      .method(probe('value in the method', { type: 'function', fn: () => ++n }, undefined, { after: 0.05 }), probe('text', { type: 'function', fn: () => 'hello' }))
      .build();

  it('writes report.json, a readable summary and an SVG plot of probe values', async () => {
    const r = await runExperiment(exp(), { stateDir: state.dir, handleSignals: false });
    expect(r.status).toBe('completed');
    expect(r.hypothesisBefore?.met).toBe(true);
    expect(r.hypothesisAfter?.met).toBe(true);
    expect(r.samples.map((s) => `${s.phase}:${s.name}`)).toEqual(['before:value', 'method:value in the method', 'method:text', 'after:value']);
    const json = JSON.parse(readFileSync(join(r.runDir, 'report.json'), 'utf8'));
    expect(json).toMatchObject({ runId: r.runId, status: 'completed', title: 'report me' });
    const txt = readFileSync(join(r.runDir, 'report.txt'), 'utf8');
    expect(txt).toMatch(/^experiment: report me$/m);
    expect(txt).toMatch(/^status: +COMPLETED$/m);
    expect(txt).toMatch(/^hypothesis before: met$/m);
    const svg = readFileSync(join(r.runDir, 'report.svg'), 'utf8');
    expect(svg).toMatch(/^<svg /);
    expect(svg).toMatch(/<polyline [^>]*points="[\d., ]+"/);
    expect(svg).toMatch(/>value: /);
    expect(svg).not.toMatch(/>text: /); // non-numeric probes are not plotted
  });

  it('signs the run through omnitide/attest (logged in its audit ledger) when asked', async () => {
    const dir = join(state.dir, 'authority');
    const auth = await Authority.open(dir, { insecurePlaintext: true });
    try {
    const key = auth.createKey('chaos');
    const r = await runExperiment(exp(), { stateDir: state.dir, handleSignals: false, audit: attestRuns(auth, 'chaos') });
    expect(r.audit).toMatchObject({ logIndex: expect.any(Number), attestation: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const v = verify(r.audit!.envelope as never, { roots: [key.publicKey] });
    expect(v.valid).toBe(true);
    const statement = JSON.parse(Buffer.from((r.audit!.envelope as { payload: string }).payload, 'base64').toString('utf8'));
    expect(statement.predicateType).toBe(CHAOS_PREDICATE);
    expect(statement.subject[0].name).toBe(`chaos-run/${r.runId}`);
    expect(statement.predicate).toMatchObject({ status: 'completed', title: 'report me' });
    const bundle = await auth.auditBundle(r.audit!.attestation as string);
    expect(Authority.verifyBundle(bundle, { roots: [key.publicKey] }).valid).toBe(true);
    } finally {
      auth.close();
    }
  });

  it('appends the run to an omnitide/ledger log when asked', async () => {
    const ledger = await Ledger.open(join(state.dir, 'ledger'), { origin: 'chaos-test' });
    try {
      const r = await runExperiment(exp(), { stateDir: state.dir, handleSignals: false, audit: ledgerRuns(ledger) });
      expect(r.audit).toMatchObject({ logIndex: 0 });
      const entry = JSON.parse(Buffer.from(await ledger.get(0)).toString('utf8'));
      expect(entry).toMatchObject({ type: CHAOS_PREDICATE, runId: r.runId, status: 'completed' });
    } finally {
      await ledger.close();
    }
  });
});
