// Signed contract versions: compiled bytes attested with omnitide/attest and the version
// appended to an omnitide/ledger log; an enforcement point proves which version it runs, and
// tampered bytes or an untrusted key are refused.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Authority } from '../../ts/attest/index.js';
import { Ledger } from '../../ts/ledger/index.js';
import * as c from '../../ts/contracts/index.js';
import { thrown } from '../helpers/thrown.js';

const dirs: string[] = [];
const newDir = () => {
  const d = mkdtempSync(join(tmpdir(), `omni-contract-sign-${process.pid}-`));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const V1 = 'permit(principal, action == Action::"view", resource);';
const V2 = 'permit(principal, action in [Action::"view", Action::"edit"], resource);';

describe('signed compiled contracts', () => {
  it('signs versions into the ledger and proves which one runs; tampering and untrusted keys are refused', async () => {
    const auth = await Authority.open(newDir(), { insecurePlaintext: true });
    auth.createKey('release');
    auth.createKey('other');
    const ledger = await Ledger.open(newDir(), { origin: 'contracts.example/versions' });
    try {
      const w1 = c.compileWasm(V1), w2 = c.compileWasm(V2);
      const s1 = await c.signCompiled(w1, { authority: auth, signer: 'release', name: 'docs-access', version: 1, ledger });
      const s2 = await c.signCompiled(w2, { authority: auth, signer: 'release', name: 'docs-access', version: 2, ledger });
      expect([s1.ledgerIndex, s2.ledgerIndex]).toEqual([0, 1]);
      const entry = JSON.parse(Buffer.from(await ledger.get(1)).toString('utf8'));
      expect(entry).toMatchObject({ kind: 'contract-version', name: 'docs-access', version: 2, target: 'wasm', digest: s2.digest, attestation: s2.id });

      const roots = [auth.exportPublicKey('release')];
      // The enforcement point holds module bytes and an envelope: it learns the version.
      expect(c.verifyCompiled(w2.bytes, s2.envelope, { roots, name: 'docs-access' })).toMatchObject({ name: 'docs-access', version: 2, digest: s2.digest, id: s2.id });
      // The bytes of v1 presented with v2's envelope: refused.
      expect(thrown(() => c.verifyCompiled(w1.bytes, s2.envelope, { roots })).code).toBe(c.CONTRACT_TAMPERED);
      const flipped = new Uint8Array(w2.bytes);
      flipped[flipped.length - 3] ^= 1;
      const t = thrown(() => c.verifyCompiled(flipped, s2.envelope, { roots }));
      expect(t.code).toBe(c.CONTRACT_TAMPERED);
      expect(t.message).toContain('docs-access@2');
      // A key the enforcement point does not trust.
      const u = thrown(() => c.verifyCompiled(w2, s2.envelope, { roots: [auth.exportPublicKey('other')] }));
      expect(u.code).toBe(c.CONTRACT_UNTRUSTED);
      expect(u.message).toContain('unknown_key');
      // A forged signature over a different payload.
      const forged = { ...s2.envelope, payload: s1.envelope.payload };
      expect(thrown(() => c.verifyCompiled(w1, forged, { roots })).code).toBe(c.CONTRACT_UNTRUSTED);
      // Rollback to an older signed version is refused when a minimum is set.
      expect(thrown(() => c.verifyCompiled(w1, s1.envelope, { roots, minVersion: 2 })).message).toContain('rollback refused');
      // JS closures sign the same way (their source text is the signed bytes).
      const js = c.compileJs(V1);
      const sj = await c.signCompiled(js, { authority: auth, signer: 'release', name: 'docs-access-js', version: 1 });
      expect(sj.ledgerIndex).toBeNull();
      expect(c.verifyCompiled(js, sj.envelope, { roots }).target).toBe('js');
      expect(thrown(() => c.verifyCompiled({ source: js.source + ' ' }, sj.envelope, { roots })).code).toBe(c.CONTRACT_TAMPERED);
    } finally {
      await ledger.close();
      auth.close();
    }
  });

  it('rejects bad options with the argument named', async () => {
    const auth = await Authority.open(newDir(), { insecurePlaintext: true });
    auth.createKey('k');
    const w = c.compileWasm(V1);
    try {
      await expect(c.signCompiled(w, { authority: auth, signer: 'k', name: 'bad name', version: 1 })).rejects.toMatchObject({ code: 'ERR_OMNI_INVALID_ARGUMENT', message: expect.stringContaining('name') });
      await expect(c.signCompiled({} as never, { authority: auth, signer: 'k', name: 'x', version: 1 })).rejects.toMatchObject({ message: expect.stringContaining('compiled') });
      expect(thrown(() => c.verifyCompiled(w, '{"nope":1}', { roots: [auth.exportPublicKey('k')] })).code).toBe(c.CONTRACT_UNTRUSTED);
    } finally {
      auth.close();
    }
  });
});
