import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { blake3, ed25519 } from '../crypto/index.js';
import { invalidArgument } from '../errors.js';
import { type Command, fromHex, hex, out, parse, printJson, readStdin, UsageError } from './command.js';

/** b3sum's name escaping: a name with `\` or newline is escaped and its line starts with `\`. */
function b3sumLine(digest: string, name: string): string {
  if (!name.includes('\\') && !name.includes('\n')) return `${digest}  ${name}`;
  return `\\${digest}  ${name.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`;
}

const hash: Command = {
  summary: 'BLAKE3 of files (output identical to b3sum)',
  usage: `omnitide hash [options] [FILE...]   (no FILE or '-' reads stdin)
  -l, --length N        output N bytes (extended output)
      --keyed           keyed hash; the 32-byte key is read raw from stdin (as b3sum)
      --derive-key CTX  derive_key mode with context CTX
      --no-names        print only the hashes
      --no-mmap         read files instead of memory-mapping them
      --json            one JSON object per file`,
  async run(argv) {
    const { values, positionals } = parse(argv, {
      length: { type: 'string', short: 'l' },
      keyed: { type: 'boolean' },
      'derive-key': { type: 'string' },
      'no-names': { type: 'boolean' },
      'no-mmap': { type: 'boolean' },
    });
    const length = values.length === undefined ? undefined : Number(values.length);
    if (length !== undefined && !(Number.isInteger(length) && length > 0)) throw new UsageError(`--length: expected a positive integer, got '${values.length}'`);
    const files = positionals.length ? positionals : ['-'];
    let key: Uint8Array | undefined;
    if (values.keyed) {
      if (files.includes('-')) throw new UsageError('--keyed reads the key from stdin, so FILE arguments are required');
      key = await readStdin();
      if (key.byteLength !== 32) throw invalidArgument('--keyed', `the key on stdin must be exactly 32 bytes, got ${key.byteLength}`);
    }
    const context = values['derive-key'];
    let failed = false;
    for (const f of files) {
      try {
        const digest =
          f === '-'
            ? context !== undefined
              ? blake3.createHasher({ context }).update(await readStdin()).digest(length)
              : blake3.hash(await readStdin(), { length, key })
            : await blake3.hashFile(f, { length, key, context, parallel: !values['no-mmap'] });
        const d = hex(digest);
        if (values.json) printJson({ file: f, blake3: d });
        else out(values['no-names'] ? d : b3sumLine(d, f));
      } catch (err) {
        failed = true;
        process.stderr.write(`omnitide hash: ${(err as Error).message}\n`);
      }
    }
    return failed ? 1 : 0;
  },
};

/** What a key file holds: its `type` says which key it is, so one cannot be used as the other. */
export type KeyKind = 'secret' | 'public';
const KEY_FILE_TYPE: Record<KeyKind, string> = { secret: 'ed25519-secret-seed', public: 'ed25519-public-key' };

/** A typed key file: `{"type": "ed25519-secret-seed" | "ed25519-public-key", "hex": "..."}`. */
export function keyFileText(kind: KeyKind, key: Uint8Array): string {
  return JSON.stringify({ type: KEY_FILE_TYPE[kind], hex: hex(key) }) + '\n';
}

/**
 * Reads a key file written by `omnitide keygen` (typed JSON) or a legacy file
 * holding bare hex. Using a public key file where a secret is needed (or the
 * reverse) is an error. Errors never echo the file's content.
 */
export function readKeyFile(arg: string, path: string, kind: KeyKind): Uint8Array {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw invalidArgument(arg, `cannot read the key file (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const t = text.trim();
  if (t.startsWith('{')) {
    let doc: { type?: unknown; hex?: unknown };
    try {
      doc = JSON.parse(t);
    } catch {
      throw invalidArgument(arg, 'the key file is not valid JSON');
    }
    const other = kind === 'secret' ? 'public' : 'secret';
    if (doc.type === KEY_FILE_TYPE[other]) throw invalidArgument(arg, `the file holds a ${other} key; a ${kind} key is needed here`);
    if (doc.type !== KEY_FILE_TYPE[kind] || typeof doc.hex !== 'string') throw invalidArgument(arg, `not a ${KEY_FILE_TYPE[kind]} key file`);
    return fromHex(arg, doc.hex, 32);
  }
  // A legacy bare-hex file: its name is the only hint of its type.
  if (kind === 'secret' && path.endsWith('.pub')) throw invalidArgument(arg, 'a .pub file holds a public key; a secret key is needed here');
  return fromHex(arg, t, 32);
}

const keygen: Command = {
  summary: 'generate an Ed25519 key pair',
  usage: `omnitide keygen [--out PREFIX] [--json]
  Prints the secret seed and the public key as hex. With --out, writes typed
  key files PREFIX.key (secret, mode 0600) and PREFIX.pub instead:
  {"type":"ed25519-secret-seed"|"ed25519-public-key","hex":"..."}.`,
  async run(argv) {
    const { values } = parse(argv, { out: { type: 'string', short: 'o' } });
    const kp = ed25519.generateKeyPair();
    const result = { publicKey: hex(kp.publicKey), ...(values.out ? {} : { secretKey: hex(kp.secretKey) }) };
    if (values.out) {
      writeFileSync(`${values.out}.key`, keyFileText('secret', kp.secretKey), { mode: 0o600, flag: 'wx' });
      writeFileSync(`${values.out}.pub`, keyFileText('public', kp.publicKey), { flag: 'wx' });
    }
    if (values.json) printJson({ ...result, ...(values.out ? { files: [`${values.out}.key`, `${values.out}.pub`] } : {}) });
    else {
      if (!values.out) out(`secret ${result.secretKey}`);
      out(`public ${result.publicKey}`);
    }
    return 0;
  },
};

/**
 * A key or signature given inline as hex, or as a file. A value that looks
 * like hex key material is never treated (or echoed) as a path: a typo gives
 * a length error, not "ENOENT: open '<the secret>'".
 */
function readKey(arg: string, value: string | undefined, length: number, kind?: KeyKind): Uint8Array {
  if (value === undefined) throw new UsageError(`${arg} is required`);
  const isHex = /^[0-9a-fA-F]+$/.test(value);
  if (isHex && value.length === length * 2) return fromHex(arg, value, length);
  // Mistyped key material: say so, never try it as a path (and never echo it).
  if (isHex && value.length >= 16 && !existsSync(value)) {
    throw invalidArgument(arg, `expected ${length} bytes of hex (${length * 2} digits) or a key file, got ${value.length} hex digits`);
  }
  if (kind !== undefined) return readKeyFile(arg, value, kind);
  let text: string;
  try {
    text = readFileSync(value, 'utf8');
  } catch (err) {
    throw invalidArgument(arg, `cannot read the file (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return fromHex(arg, text, length);
}

async function readMessage(file: string | undefined): Promise<Uint8Array> {
  return file === undefined || file === '-' ? readStdin() : new Uint8Array(readFileSync(file));
}

const sign: Command = {
  summary: 'sign a file (or stdin) with an Ed25519 secret key',
  usage: `omnitide sign --key KEYFILE|HEX [FILE|-] [--json]
  Prints the 64-byte signature as hex.`,
  async run(argv) {
    const { values, positionals } = parse(argv, { key: { type: 'string', short: 'k' } });
    const sk = readKey('--key', values.key, 32, 'secret');
    const sig = ed25519.sign(await readMessage(positionals[0]), sk);
    if (values.json) printJson({ signature: hex(sig), publicKey: hex(ed25519.publicKeyFromSecret(sk)) });
    else out(hex(sig));
    return 0;
  },
};

const verify: Command = {
  summary: 'verify an Ed25519 signature over a file (or stdin)',
  usage: `omnitide verify --pub PUBFILE|HEX --sig SIGFILE|HEX [FILE|-] [--mode strict|zip215] [--json]
  Prints OK (exit 0) or FAILED (exit 1).`,
  async run(argv) {
    const { values, positionals } = parse(argv, {
      pub: { type: 'string', short: 'p' },
      sig: { type: 'string', short: 's' },
      mode: { type: 'string' },
    });
    const pk = readKey('--pub', values.pub, 32, 'public');
    const sig = readKey('--sig', values.sig, 64);
    const mode = values.mode as ed25519.VerifyMode | undefined;
    const ok = ed25519.verify(sig, await readMessage(positionals[0]), pk, mode === undefined ? undefined : { mode });
    if (values.json) printJson({ valid: ok });
    else out(ok ? 'OK' : 'FAILED');
    return ok ? 0 : 1;
  },
};

export const cryptoCommands: Record<string, Command> = { hash, keygen, sign, verify };
