import { readFileSync, writeFileSync } from 'node:fs';
import { Authority, RevocationWatcher, verify, type Envelope, type Subject, type TrustRoot, type VerifyOptions } from '../attest/index.js';
import { invalidArgument } from '../errors.js';
import { type CommandGroup, fromHex, hex, out, parse, printJson, UsageError } from './command.js';

const common = {
  dir: { type: 'string', short: 'd' },
  'passphrase-env': { type: 'string' },
  'passphrase-file': { type: 'string' },
  'insecure-plaintext': { type: 'boolean' },
} as const;
const commonUsage = `  -d, --dir DIR              authority directory (default $OMNITIDE_ATTEST_DIR)
      --passphrase-env VAR   read the key store passphrase from environment variable VAR
      --passphrase-file FILE read it from FILE (first line)
      --insecure-plaintext   store/read secret keys UNENCRYPTED (tests only)
  Secret keys are encrypted at rest; without --passphrase-env/--passphrase-file the
  passphrase is prompted for on the terminal.`;

/** Reads a line from the terminal without echo. */
async function prompt(question: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) throw new UsageError('a key store passphrase is needed: --passphrase-env VAR, --passphrase-file FILE, a terminal to prompt on, or --insecure-plaintext');
  process.stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  let line = '';
  try {
    for await (const chunk of stdin) {
      for (const ch of String(chunk)) {
        if (ch === '\r' || ch === '\n') return line;
        if (ch === '\u0003') throw new UsageError('interrupted');
        if (ch === '\u007f') line = line.slice(0, -1);
        else line += ch;
      }
    }
    return line;
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    process.stderr.write('\n');
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function passphraseFrom(values: Record<string, any>, envFlag: string, fileFlag: string): Promise<string | undefined> {
  if (values[envFlag] !== undefined) {
    const p = process.env[values[envFlag]];
    if (!p) throw invalidArgument(`--${envFlag}`, `environment variable ${values[envFlag]} is empty or unset`);
    return p;
  }
  if (values[fileFlag] !== undefined) {
    let text: string;
    try {
      text = readFileSync(values[fileFlag], 'utf8');
    } catch (err) {
      throw invalidArgument(`--${fileFlag}`, `cannot read the passphrase file (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    const p = text.split('\n')[0].replace(/\r$/, '');
    if (!p) throw invalidArgument(`--${fileFlag}`, 'the passphrase file is empty');
    return p;
  }
  return undefined;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function dirOf(values: Record<string, any>): string {
  const dir = values.dir ?? process.env.OMNITIDE_ATTEST_DIR;
  if (!dir) throw new UsageError('--dir is required (or set OMNITIDE_ATTEST_DIR)');
  return dir;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function openAuthority(values: Record<string, any>): Promise<Authority> {
  const dir = dirOf(values);
  let passphrase = await passphraseFrom(values, 'passphrase-env', 'passphrase-file');
  const insecurePlaintext = values['insecure-plaintext'] === true;
  if (passphrase === undefined && !insecurePlaintext) passphrase = await prompt('key store passphrase: ');
  return Authority.open(dir, { passphrase, insecurePlaintext: insecurePlaintext || undefined });
}

/** A 32-byte key given as hex (what this CLI prints) or Base64 (what key and root JSON hold). */
function keyArg(flag: string, v: string): Uint8Array {
  if (/^[0-9a-fA-F]{64}$/.test(v.trim())) return fromHex(flag, v, 32);
  const b = Buffer.from(v.trim(), 'base64');
  if (b.length !== 32 || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(v.trim())) throw invalidArgument(flag, 'expected a 32-byte key as 64 hex digits or Base64');
  return new Uint8Array(b);
}

function readJson(arg: string, file: string): unknown {
  try {
    return JSON.parse(readFileSync(file === '-' ? 0 : file, 'utf8'));
  } catch (err) {
    throw invalidArgument(arg, `cannot read JSON from ${file}: ${(err as Error).message}`, err);
  }
}

function writeOut(file: string | undefined, value: unknown): void {
  const s = JSON.stringify(value, null, 2) + '\n';
  if (file) writeFileSync(file, s);
  else process.stdout.write(s);
}

/** NAME=ALG:HEX */
function subjectArg(s: string): Subject {
  const m = /^(.*)=([A-Za-z0-9_-]+):([0-9a-f]+)$/.exec(s);
  if (!m) throw new UsageError(`--subject: expected NAME=ALG:HEX, got '${s}'`);
  return { name: m[1], digest: { [m[2]]: m[3] } };
}

function intArg(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new UsageError(`--${name}: expected an integer, got '${v}'`);
  return n;
}

export const attestCommands: CommandGroup = {
  summary: 'attestation authority: issue, verify, delegate, revoke, audit (DSSE + in-toto)',
  commands: {
    key: {
      summary: 'create a key (or --import HEX a public key) and print its key ID and public key',
      usage: `omnitide attest key NAME [--import PUBKEY] [--json]   (PUBKEY: hex or Base64; keys print as hex)\n${commonUsage}`,
      async run(argv) {
        const { values, positionals } = parse(argv, { ...common, import: { type: 'string' } });
        if (positionals.length !== 1) throw new UsageError('expected one key NAME');
        const a = await openAuthority(values);
        const k = values.import ? a.importPublicKey(positionals[0], keyArg('--import', values.import)) : a.createKey(positionals[0]);
        if (values.json) printJson({ name: k.name, keyid: k.keyid, publicKey: hex(k.publicKey) });
        else out(`${k.name} ${k.keyid} ${hex(k.publicKey)}`);
        return 0;
      },
    },
    keys: {
      summary: 'list the keys of the store (name, key ID, public key as hex, secret or public only)',
      usage: `omnitide attest keys [--json]\n${commonUsage}`,
      async run(argv) {
        const { values } = parse(argv, common);
        const a = await openAuthority(values);
        const ks = a.listKeys().map((k) => ({ name: k.name, keyid: k.keyid, publicKey: hex(k.publicKey), hasSecret: k.hasSecret }));
        if (values.json) printJson(ks);
        else for (const k of ks) out(`${k.name} ${k.keyid} ${k.publicKey} ${k.hasSecret ? 'secret' : 'public-only'}`);
        a.close();
        return 0;
      },
    },
    pubkey: {
      summary: 'print the public key of NAME as hex (what --root-key and --import take), or of the audit log (--log)',
      usage: `omnitide attest pubkey (NAME | --log) [--json]\n${commonUsage}`,
      async run(argv) {
        const { values, positionals } = parse(argv, { ...common, log: { type: 'boolean' } });
        if ((positionals.length === 1) === !!values.log) throw new UsageError('expected one key NAME or --log');
        const a = await openAuthority(values);
        const pk = values.log ? a.logPublicKey! : a.exportPublicKey(positionals[0]);
        if (values.json) printJson({ ...(values.log ? { log: true, origin: a.logOrigin } : { name: positionals[0] }), publicKey: hex(pk), publicKeyBase64: Buffer.from(pk).toString('base64') });
        else out(hex(pk));
        a.close();
        return 0;
      },
    },
    encrypt: {
      summary: 'encrypt the key store of a closed authority (from plaintext, or change the passphrase)',
      usage: `omnitide attest encrypt [--dir DIR] [--old-passphrase-env VAR | --old-passphrase-file FILE] [--passphrase-env VAR | --passphrase-file FILE]
  Without an old passphrase the store is taken to be unencrypted. The new passphrase
  is prompted for (twice) when not given.`,
      async run(argv) {
        const { values } = parse(argv, { ...common, 'old-passphrase-env': { type: 'string' }, 'old-passphrase-file': { type: 'string' } });
        const dir = dirOf(values);
        const old = await passphraseFrom(values, 'old-passphrase-env', 'old-passphrase-file');
        let next = await passphraseFrom(values, 'passphrase-env', 'passphrase-file');
        if (next === undefined) {
          next = await prompt('new key store passphrase: ');
          if ((await prompt('again: ')) !== next) throw invalidArgument('passphrase', 'the two entries differ');
        }
        await Authority.reencrypt(dir, { passphrase: old, newPassphrase: next });
        values.json ? printJson({ encrypted: true, dir }) : out(`key store in ${dir} encrypted`);
        return 0;
      },
    },
    issue: {
      summary: 'sign an in-toto statement as a DSSE envelope (printed or written with --out)',
      usage: `omnitide attest issue --signer NAME --subject NAME=ALG:HEX... --predicate-type URI [--predicate JSON|@FILE] [--expires-at MS] [--out FILE]\n${commonUsage}`,
      async run(argv) {
        const { values } = parse(argv, {
          ...common,
          signer: { type: 'string' },
          subject: { type: 'string', multiple: true },
          'predicate-type': { type: 'string' },
          predicate: { type: 'string' },
          'expires-at': { type: 'string' },
          out: { type: 'string', short: 'o' },
        });
        if (!values.signer || !values.subject?.length || !values['predicate-type']) throw new UsageError('--signer, --subject and --predicate-type are required');
        const p = values.predicate;
        const predicate = p === undefined ? {} : p.startsWith('@') ? readJson('--predicate', p.slice(1)) : JSON.parse(p);
        const a = await openAuthority(values);
        const iss = await a.issue({
          signer: values.signer,
          subject: (values.subject as string[]).map(subjectArg),
          predicateType: values['predicate-type'],
          predicate,
          expiresAt: intArg('expires-at', values['expires-at']),
        });
        writeOut(values.out, iss.envelope);
        if (values.out) values.json ? printJson({ id: iss.id, logIndex: iss.logIndex, file: values.out }) : out(`issued ${iss.id} (audit entry ${iss.logIndex})`);
        return 0;
      },
    },
    verify: {
      summary: 'verify an envelope against trust roots (exit 1 with the reason when invalid)',
      usage: `omnitide attest verify ENVELOPE_FILE (--roots ROOT_JSON | --root-key HEX...) [--role NAME] [--delegation FILE...] [--at MS] [--skew MS] [--dir DIR] [--json]
  With --dir, revocations recorded in that authority's ledger apply.`,
      async run(argv) {
        const { values, positionals } = parse(argv, {
          dir: { type: 'string', short: 'd' },
          roots: { type: 'string' },
          'root-key': { type: 'string', multiple: true },
          role: { type: 'string' },
          delegation: { type: 'string', multiple: true },
          at: { type: 'string' },
          skew: { type: 'string' },
        });
        if (positionals.length !== 1) throw new UsageError('expected one ENVELOPE_FILE');
        const roots = values.roots
          ? (readJson('--roots', values.roots) as TrustRoot)
          : ((values['root-key'] ?? []) as string[]).map((k) => keyArg('--root-key', k));
        if (Array.isArray(roots) && roots.length === 0) throw new UsageError('--roots or --root-key is required');
        const opts: VerifyOptions = {
          roots,
          role: values.role,
          at: intArg('at', values.at),
          clockSkewMs: intArg('skew', values.skew),
          delegations: ((values.delegation ?? []) as string[]).map((f) => readJson('--delegation', f) as Envelope),
        };
        const env = readFileSync(positionals[0] === '-' ? 0 : positionals[0], 'utf8');
        const dir = values.dir ?? process.env.OMNITIDE_ATTEST_DIR;
        const v = dir ? RevocationWatcher.open(dir).verify(env, opts) : verify(env, opts);
        if (values.json) printJson(v);
        else out(v.valid ? `valid ${v.id} signers ${v.signers.join(',')} chain ${v.chain.length}` : `invalid: ${v.reason} (${v.detail})`);
        return v.valid ? 0 : 1;
      },
    },
    delegate: {
      summary: 'delegate from one key to another with a narrowed scope',
      usage: `omnitide attest delegate --from NAME --to NAME [--predicate-type URI...] [--subject-glob GLOB...] [--max-depth N] [--expires-at MS] [--out FILE]\n${commonUsage}`,
      async run(argv) {
        const { values } = parse(argv, {
          ...common,
          from: { type: 'string' },
          to: { type: 'string' },
          'predicate-type': { type: 'string', multiple: true },
          'subject-glob': { type: 'string', multiple: true },
          'max-depth': { type: 'string' },
          'expires-at': { type: 'string' },
          out: { type: 'string', short: 'o' },
        });
        if (!values.from || !values.to) throw new UsageError('--from and --to are required');
        const a = await openAuthority(values);
        const d = await a.delegate({
          from: values.from,
          to: values.to,
          scope: {
            predicateTypes: values['predicate-type'],
            subjects: values['subject-glob'],
            maxDepth: intArg('max-depth', values['max-depth']),
            expiresAt: intArg('expires-at', values['expires-at']),
          },
        });
        writeOut(values.out, d.envelope);
        if (values.out) values.json ? printJson({ id: d.id, logIndex: d.logIndex, file: values.out }) : out(`delegation ${d.id} (audit entry ${d.logIndex})`);
        return 0;
      },
    },
    revoke: {
      summary: 'revoke an attestation/delegation (--attestation ID) or a key (--key KEYID | --key-name NAME)',
      usage: `omnitide attest revoke (--attestation ID | --key KEYID | --key-name NAME) --reason TEXT --by NAME [--cosigner NAME...] [--effective-from MS]
  Verifiers honour a revocation only from a key with authority over the target: the
  attestation's signer or a key above it; a delegated key itself or a key above it;
  a root key only by a threshold of the root role (--by plus --cosigner).
${commonUsage}`,
      async run(argv) {
        const { values } = parse(argv, {
          ...common,
          attestation: { type: 'string' },
          key: { type: 'string' },
          'key-name': { type: 'string' },
          reason: { type: 'string' },
          by: { type: 'string' },
          cosigner: { type: 'string', multiple: true },
          'effective-from': { type: 'string' },
        });
        if (!values.reason || !values.by) throw new UsageError('--reason and --by are required');
        const a = await openAuthority(values);
        const key = values['key-name'] ? a.keyInfo(values['key-name']).keyid : values.key;
        const r = await a.revoke({
          attestation: values.attestation,
          key,
          reason: values.reason,
          by: values.by,
          cosigners: values.cosigner,
          effectiveFrom: intArg('effective-from', values['effective-from']),
        });
        if (values.json) printJson({ id: r.id, logIndex: r.logIndex });
        else out(`revoked (record ${r.id}, audit entry ${r.logIndex})`);
        return 0;
      },
    },
    audit: {
      summary: 'print the audit bundle of an attestation ID, or --verify a bundle offline',
      usage: `omnitide attest audit ID [--out FILE]            (needs --dir)
omnitide attest audit --verify BUNDLE_FILE (--log-key KEY | --roots ROOT_JSON | --root-key KEY...) [--json]
  Verification needs trust anchors you hold: the audit log's public key (attest pubkey --log)
  and/or the trust roots (then the envelope must verify too). The key inside a bundle proves nothing.
${commonUsage}`,
      async run(argv) {
        const { values, positionals } = parse(argv, {
          ...common,
          verify: { type: 'string' },
          'log-key': { type: 'string' },
          roots: { type: 'string' },
          'root-key': { type: 'string', multiple: true },
          out: { type: 'string', short: 'o' },
        });
        if (values.verify) {
          const rootKeys = ((values['root-key'] ?? []) as string[]).map((k) => keyArg('--root-key', k));
          const roots = values.roots ? (readJson('--roots', values.roots) as TrustRoot) : rootKeys.length ? rootKeys : undefined;
          if (!values['log-key'] && roots === undefined) throw new UsageError('--verify needs a trust anchor: --log-key KEY and/or --roots FILE / --root-key KEY');
          const b = readFileSync(values.verify === '-' ? 0 : values.verify, 'utf8');
          const v = Authority.verifyBundle(b, { ...(values['log-key'] ? { logPublicKey: keyArg('--log-key', values['log-key']) } : {}), ...(roots ? { roots } : {}) });
          if (values.json) printJson(v);
          else {
            out(v.valid ? `valid bundle for ${v.id}` : `invalid: ${v.reason} (${v.detail})`);
            for (const w of v.warnings ?? []) out(`warning: ${w}`);
          }
          return v.valid ? 0 : 1;
        }
        if (positionals.length !== 1) throw new UsageError('expected one attestation ID (or --verify FILE)');
        const a = await openAuthority(values);
        writeOut(values.out, await a.auditBundle(positionals[0]));
        return 0;
      },
    },
  },
};
