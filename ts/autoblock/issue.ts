/**
 * Signs decisions from their fields. The bodies cross to Rust as columns
 * (one text of every string, their lengths, their numbers), where
 * `omnitide-autoblock`'s `decision` module writes each body as
 * `JSON.stringify` prints it (the subject digest hashes that text) and in
 * RFC 8785 form (the predicate), and the domain's attest authority signs and
 * audits the statements: the same bytes as printing every body here and
 * having attest parse and canonicalise the request JSON, without that round.
 */
import { Authority, type IssuedJson } from '../attest/index.js';
import { native } from '../native.js';
import type { DecisionBody } from './decision.js';

/** Numbers per decision (the crate's `NUMS_PER_DECISION`). */
const NUMS = 5;

/** Issues one signed, audited attestation per body (`signer`: the domain key). */
export function issueDecisions(authority: Authority, signer: string, domain: string, bodies: readonly DecisionBody[]): Promise<IssuedJson[]> {
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
  return Authority.issueNatively(authority, (h) => native.autoblockIssueDecisions(h, signer, domain, text, l, nums));
}
