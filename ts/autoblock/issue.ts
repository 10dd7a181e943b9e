/**
 * Signs decisions from their fields. The bodies cross to Rust as columns
 * (one text of every string, their lengths, their numbers), where
 * `omnitide-autoblock`'s `decision` module writes each body as
 * `JSON.stringify` prints it (the subject digest hashes that text) and in
 * RFC 8785 form (the predicate), and the domain's attest authority signs and
 * audits the statements: the same bytes as printing every body here and
 * having attest parse and canonicalise the request JSON, without that round.
 */
import { Authority } from '../attest/index.js';
import { native } from '../native.js';
import type { DecisionBody } from './decision.js';

/** Numbers per decision (the crate's `NUMS_PER_DECISION`). */
const NUMS = 5;

/**
 * Signed decisions: attestation ids and the envelopes' canonical JSON as
 * views of one buffer, laid end to end (the ledger appends them as they
 * are; a string is made only where one is needed, see `envelopeText`).
 */
export interface IssuedBatch {
  ids: string[];
  envelopes: Uint8Array[];
  /** the one buffer the envelopes are views of, and where each ends in it (for `Ledger.appendPacked`) */
  packed: { data: Uint8Array; ends: Uint32Array };
}

/** An envelope's canonical JSON as a string (it is ASCII: Base64, hex and fixed names). */
export function envelopeText(e: Uint8Array): string {
  return Buffer.from(e.buffer, e.byteOffset, e.byteLength).toString('latin1');
}

/**
 * Issues one signed attestation per body (`signer`: the domain key), each
 * copied into the authority's audit log; or, with `loggedIn` (the origin of
 * the decision ledger the caller appends the envelopes to before releasing
 * them), one audit entry listing the batch's IDs (`kind: 'issue-batch'`).
 */
export async function issueDecisions(authority: Authority, signer: string, domain: string, bodies: readonly DecisionBody[], loggedIn?: string): Promise<IssuedBatch> {
  const nums = new Float64Array(NUMS * bodies.length);
  const lens: number[] = [];
  // strings as JS holds them (UTF-16): a length here is a length there
  let text = '';
  for (let k = 0; k < bodies.length; k++) {
    const b = bodies[k];
    const lifts = b.lifts ?? '';
    text += b.action + b.scope + b.value + b.reason + b.origin + b.nonce + lifts;
    lens.push(b.action.length, b.scope.length, b.value.length, b.reason.length, b.origin.length, b.nonce.length, lifts.length, b.evidence.length);
    for (const e of b.evidence) {
      text += e;
      lens.push(e.length);
    }
    const o = NUMS * k;
    nums[o] = b.issuedAt;
    nums[o + 1] = b.expiresAt ?? NaN; // NaN: null
    nums[o + 2] = b.rate ? b.rate.pps : NaN; // NaN: no rate
    nums[o + 3] = b.rate ? b.rate.burst : NaN;
    nums[o + 4] = b.global ? 1 : 0;
  }
  const l = Uint32Array.from(lens);
  const r = await Authority.issueNatively(authority, (h) => native.autoblockIssueDecisions(h, signer, domain, text, l, nums, loggedIn));
  const ids: string[] = new Array(r.ends.length);
  const envelopes: Uint8Array[] = new Array(r.ends.length);
  for (let k = 0, start = 0; k < r.ends.length; start = r.ends[k++]) {
    ids[k] = r.ids.slice(64 * k, 64 * k + 64);
    envelopes[k] = r.envelopes.subarray(start, r.ends[k]);
  }
  return { ids, envelopes, packed: { data: r.envelopes, ends: r.ends } };
}
