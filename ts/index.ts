/**
 * omnitide: native-speed systems for Node services on Linux. Each system has
 * its own subpath (`omnitide/crypto`, ...); this root exports what they share.
 */
export { OmniError, ErrorCodes, type OmniErrorCode } from './errors.js';
export { setLogger, type Logger } from './logger.js';
export * as crypto from './crypto/index.js';
export * as ledger from './ledger/index.js';
export * as symbolic from './symbolic/index.js';
export * as scheduler from './scheduler/index.js';
export * as kernel from './kernel/index.js';
export * as attest from './attest/index.js';
export * as learn from './learn/index.js';
export * as lattice from './lattice/index.js';
export * as chaos from './chaos/index.js';
export * as pipeline from './pipeline/index.js';
