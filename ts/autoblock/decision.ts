/**
 * Decisions: what a domain decided (ban / throttle / allow / unban), signed as
 * an in-toto statement with the domain's `omnitide/attest` key. The subject
 * name encodes action, scope and value so that attest delegations can scope
 * which domain may decide what (`autoblock/ban/ip/*`, `autoblock/*\/range/**`).
 */
import type { Envelope } from '../attest/index.js';
import { invalidArgument } from '../errors.js';

export const PREDICATE_TYPE = 'https://omnitide.dev/autoblock/decision/v1';

export type Action = 'ban' | 'throttle' | 'allow' | 'unban';
export type Scope = 'ip' | 'range' | 'user';

/** The signed body of a decision. */
export interface DecisionBody {
  v: 1;
  action: Action;
  scope: Scope;
  /** `1.2.3.4`, `10.0.0.0/8`, `user:name` */
  value: string;
  /** Unix ms */
  issuedAt: number;
  /** Unix ms; null = permanent */
  expiresAt: number | null;
  reason: string;
  /** hex BLAKE3 of the triggering events */
  evidence: string[];
  /** deciding domain */
  domain: string;
  /** jail / scenario / operator that decided */
  origin: string;
  /** throttle: packets per second and burst */
  rate?: { pps: number; burst: number };
  /** unban: the decision it lifts */
  lifts?: string;
  /** requires k-of-n domain signatures when true */
  global?: boolean;
  /** makes two otherwise equal decisions distinct */
  nonce: string;
}

/** A decision as stored and replicated: the envelope and what was read from it. */
export interface Decision extends DecisionBody {
  /** attestation ID (hex BLAKE3 of the DSSE PAE) */
  id: string;
  envelope: Envelope;
  /** index in the local decision ledger (null until appended) */
  logIndex: number | null;
}

/** The attest subject name of a decision: `autoblock/<action>/<scope>/<value>` ('/' in a CIDR becomes '_'). */
export function subjectName(action: Action, scope: Scope, value: string): string {
  return `autoblock/${action}/${scope}/${value.replaceAll('/', '_')}`;
}

/** Reads the body out of a DSSE envelope (no signature check). */
export function bodyOf(envelope: Envelope): DecisionBody {
  let stmt: { predicateType?: string; predicate?: DecisionBody };
  try {
    stmt = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'));
  } catch (err) {
    throw invalidArgument('envelope.payload', 'not a JSON statement', err);
  }
  if (stmt.predicateType !== PREDICATE_TYPE || !stmt.predicate || stmt.predicate.v !== 1) {
    throw invalidArgument('envelope', `not an autoblock decision (predicateType ${String(stmt.predicateType)})`);
  }
  return stmt.predicate;
}

/** Is the decision in force at `now` (Unix ms)? */
export function inForce(d: Pick<DecisionBody, 'expiresAt'>, now = Date.now()): boolean {
  return d.expiresAt === null || d.expiresAt > now;
}
