/**
 * Opt-in audit trail of chaos runs, through the public APIs of omnitide/attest
 * and omnitide/ledger: `attestRuns` signs each report as an in-toto statement
 * (DSSE) whose audit entry the authority appends to its ledger; `ledgerRuns`
 * appends the report digest and verdict to a plain ledger (no signature).
 */
import { createHash } from 'node:crypto';
import type { Authority } from '../attest/index.js';
import type { Ledger } from '../ledger/index.js';
import type { RunReport } from './runner.js';

export const CHAOS_PREDICATE = 'https://omnitide.dev/chaos-run/v1';

function digest(report: RunReport): string {
  const { audit: _a, ...rest } = report;
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex');
}

function predicate(r: RunReport) {
  return {
    title: r.title,
    status: r.status,
    reason: r.reason,
    startedAt: r.startedAt,
    endedAt: r.endedAt,
    hypothesisBefore: r.hypothesisBefore?.met ?? null,
    hypothesisAfter: r.hypothesisAfter?.met ?? null,
    faults: r.faults.map((f) => ({ fault: f.fault, target: f.target, appliedAt: f.appliedAt, removedAt: f.removedAt })),
    deviations: r.deviations,
  };
}

/** `RunOptions.audit`: signs the run with `signer` (a key of `authority`); the authority logs it in its audit ledger. */
export function attestRuns(authority: Authority, signer: string): (r: RunReport) => Promise<Record<string, unknown>> {
  return async (r) => {
    const issued = await authority.issue({
      signer,
      subject: [{ name: `chaos-run/${r.runId}`, digest: { sha256: digest(r) } }],
      predicateType: CHAOS_PREDICATE,
      predicate: predicate(r),
    });
    return { attestation: issued.id, logIndex: issued.logIndex, envelope: issued.envelope, reportSha256: digest(r) };
  };
}

/** `RunOptions.audit`: appends the run's digest and verdict to `ledger` (unsigned entries; the checkpoints are signed if the ledger has a signer). */
export function ledgerRuns(ledger: Ledger): (r: RunReport) => Promise<Record<string, unknown>> {
  return async (r) => {
    const entry = { type: CHAOS_PREDICATE, runId: r.runId, reportSha256: digest(r), ...predicate(r) };
    const res = await ledger.append(entry);
    return { logIndex: res.index, reportSha256: entry.reportSha256 };
  };
}
