/**
 * `omnitide/chaos`: chaos experiments in Chaos Toolkit's shape with kernel
 * faults from omnitide/kernel (XDP drop and partition, cgroup freeze and
 * limits, stress), blast radius, abort conditions, progressive rollout, a kill
 * switch, and a journal so that nothing is left behind, even after SIGKILL.
 */
export { OmniError } from '../errors.js';
export { action, experiment, ExperimentBuilder, probe } from './builder.js';
export { abort, repair, status, type RepairResult, type Status } from './control.js';
export { FaultEngine, netemAvailable, qdiscAvailable, plan, type AppliedFault, type Plan } from './faults.js';
export { stateDir, DEFAULT_STATE_DIR } from './journal.js';
export { check, loadExperiment, parseText, readExperimentFile, type LoadResult } from './load.js';
export { runProbe, within, type ProbeResult } from './probes.js';
export { renderSummary, renderSvg } from './report.js';
export { runExperiment, writeReportFiles, type FaultEvent, type ProbeOutcome, type RunOptions, type RunReport, type RunStatus, type Sample } from './runner.js';
export {
  ExperimentError,
  FAULT_TYPES,
  problemsOf,
  validateExperiment,
  type Action,
  type ActionProvider,
  type Activity,
  type Experiment,
  type FaultProvider,
  type Probe,
  type ProbeProvider,
  type Problem,
  type Safety,
  type Tolerance,
} from './schema.js';
export { attestRuns, ledgerRuns, CHAOS_PREDICATE } from './audit.js';
// The Toxiproxy-compatible TCP fault proxy (faults without root), also a `toxic` fault of experiments.
export {
  API_VERSION,
  Proxy,
  TOXIC_TYPES,
  ToxiproxyServer,
  type AddToxicOptions,
  type ProxyInfo,
  type ProxyOptions,
  type ProxyUpdate,
  type ToxicInfo,
  type ToxicStream,
  type ToxicType,
  type ToxiproxyServerOptions,
} from './proxy/index.js';
