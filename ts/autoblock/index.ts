/**
 * `omnitide/autoblock`: security events -> detection (fail2ban filters and
 * jails, CrowdSec-shaped scenarios; Rust, linear-time regexes) -> decisions
 * signed with the domain's `omnitide/attest` key and appended to an
 * `omnitide/ledger` log -> enforcement (XDP, nftables, HTTP middleware),
 * replicated across nodes and domains through NATS JetStream.
 */
export { OmniError } from '../errors.js';
export { Autoblocker, type AutoblockOptions, type BanRequest, type Rejection, type Transport, type TrustPolicy, type VerifyResult } from './autoblocker.js';
export { bodyOf, inForce, PREDICATE_TYPE, subjectName, type Action, type Decision, type DecisionBody, type Scope } from './decision.js';
export {
  Detector,
  packEvents,
  translateRegex,
  type Detection,
  type DetectorConfig,
  type DetectorStats,
  type Duration,
  type JailOptions,
  type LineMatch,
  type ScenarioSource,
  type SecurityEvent,
} from './detector.js';
export { fastifyHook, httpMiddleware, nftablesEnforcer, xdpEnforcer, type Enforcer, type Lookup, type MiddlewareOptions, type NftablesOptions } from './enforce.js';
export { jetstreamTransport, type JetStreamOptions } from './jetstream.js';
export { FileTail, JournalSource, journalLine, stripPriority, SyslogSource, type LineSink, type Source, type SyslogOptions } from './sources.js';
export { canonicalCidr, canonicalIp, canonicalValue, DecisionTable } from './table.js';
