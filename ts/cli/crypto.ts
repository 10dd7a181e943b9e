import { readFileSync, writeFileSync } from 'node:fs';
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

const keygen: Command = {
  summary: 'generate an Ed25519 key pair',
  usage: `omnitide keygen [--out PREFIX] [--json]
  Prints the secret seed and the public key as hex. With --out, writes
  PREFIX.key (secret, mode 0600) and PREFIX.pub instead.`,
  async run(argv) {
    const { values } = parse(argv, { out: { type: 'string', short: 'o' } });
    const kp = ed25519.generateKeyPair();
    const result = { publicKey: hex(kp.publicKey), ...(values.out ? {} : { secretKey: hex(kp.secretKey) }) };
    if (values.out) {
      writeFileSync(`${values.out}.key`, hex(kp.secretKey) + '\n', { mode: 0o600, flag: 'wx' });
      writeFileSync(`${values.out}.pub`, hex(kp.publicKey) + '\n', { flag: 'wx' });
    }
    if (values.json) printJson({ ...result, ...(values.out ? { files: [`${values.out}.key`, `${values.out}.pub`] } : {}) });
    else {
      if (!values.out) out(`secret ${result.secretKey}`);
      out(`public ${result.publicKey}`);
    }
    return 0;
  },
};

function readKey(arg: string, value: string | undefined, length: number): Uint8Array {
  if (value === undefined) throw new UsageError(`${arg} is required`);
  const text = /^[0-9a-fA-F]+$/.test(value) && value.length === length * 2 ? value : readFileSync(value, 'utf8');
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
    const sk = readKey('--key', values.key, 32);
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
    const pk = readKey('--pub', values.pub, 32);
    const sig = readKey('--sig', values.sig, 64);
    const mode = values.mode as ed25519.VerifyMode | undefined;
    const ok = ed25519.verify(sig, await readMessage(positionals[0]), pk, mode === undefined ? undefined : { mode });
    if (values.json) printJson({ valid: ok });
    else out(ok ? 'OK' : 'FAILED');
    return ok ? 0 : 1;
  },
};

export const cryptoCommands: Record<string, Command> = { hash, keygen, sign, verify };
