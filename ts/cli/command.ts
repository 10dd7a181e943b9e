import { parseArgs, type ParseArgsConfig } from 'node:util';
import { OmniError, invalidArgument } from '../errors.js';

/** One CLI verb: `omnitide <name> ...` or `omnitide <system> <name> ...`. */
export interface Command {
  summary: string;
  usage: string;
  /** Returns the process exit code. */
  run(argv: string[]): Promise<number>;
}

/** A group of verbs under one system name (`omnitide ledger append ...`). */
export interface CommandGroup {
  summary: string;
  commands: Record<string, Command>;
}

export class UsageError extends OmniError {
  constructor(message: string) {
    super('ERR_OMNI_INVALID_ARGUMENT', message);
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs with `--help` and `--json` always known, and usage errors as `UsageError`. */
/** Parsed flags: strings for valued options, booleans for switches. */
export interface Parsed {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  values: Record<string, any>;
  positionals: string[];
}

export function parse(argv: string[], options: Options): Parsed {
  try {
    return parseArgs({
      args: argv,
      options: { help: { type: 'boolean', short: 'h' }, json: { type: 'boolean' }, ...options },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function out(line: string): void {
  process.stdout.write(line + '\n');
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)) + '\n');
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export function fromHex(arg: string, s: string, length?: number): Uint8Array {
  const t = s.trim();
  if (!/^([0-9a-fA-F]{2})*$/.test(t)) throw invalidArgument(arg, 'expected hex');
  const b = new Uint8Array(Buffer.from(t, 'hex'));
  if (length !== undefined && b.byteLength !== length) throw invalidArgument(arg, `expected ${length} bytes of hex, got ${b.byteLength}`);
  return b;
}

export async function readStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return new Uint8Array(Buffer.concat(chunks));
}
