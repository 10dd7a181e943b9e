import { readFileSync, writeFileSync } from 'node:fs';
import { Ledger } from '../ledger/index.js';
import { type Command, type CommandGroup, fromHex, hex, out, parse, printJson, readStdin, UsageError } from './command.js';

const common = {
  dir: { type: 'string', short: 'd' },
  origin: { type: 'string', short: 'o' },
  hash: { type: 'string' },
  key: { type: 'string', short: 'k' },
} as const;
const commonUsage = `  -d, --dir DIR         ledger directory (required)
  -o, --origin ORIGIN   log origin (required)
      --hash H          sha256 (default) or blake3
  -k, --key FILE        file holding the 32-byte Ed25519 secret seed in hex (for signing)
      --json            machine-readable output`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function openFrom(values: Record<string, any>): Promise<Ledger> {
  if (!values.dir) throw new UsageError('--dir is required');
  if (!values.origin) throw new UsageError('--origin is required');
  const signer = values.key ? fromHex('--key', readFileSync(values.key, 'utf8'), 32) : undefined;
  return Ledger.open(values.dir, { origin: values.origin, hash: values.hash, signer });
}

const append: Command = {
  summary: 'append entries (arguments, or stdin as one entry)',
  usage: `omnitide ledger append [options] [ENTRY...]\n${commonUsage}`,
  async run(argv) {
    const { values, positionals } = parse(argv, common);
    const l = await openFrom(values);
    try {
      const es: (string | Uint8Array)[] = positionals.length ? positionals : [await readStdin()];
      const rs = await l.appendMany(es);
      for (const r of rs) values.json ? printJson({ index: r.index, leafHash: hex(r.leafHash) }) : out(`${r.index} ${hex(r.leafHash)}`);
    } finally {
      await l.close();
    }
    return 0;
  },
};

const get: Command = {
  summary: 'print entry INDEX (raw bytes to stdout)',
  usage: `omnitide ledger get [options] INDEX\n${commonUsage}`,
  async run(argv) {
    const { values, positionals } = parse(argv, common);
    const l = await openFrom(values);
    try {
      const e = await l.get(Number(positionals[0]));
      if (values.json) printJson({ index: Number(positionals[0]), entry: Buffer.from(e).toString('base64') });
      else process.stdout.write(e);
    } finally {
      await l.close();
    }
    return 0;
  },
};

const status: Command = {
  summary: 'size, root hash and last checkpoint',
  usage: `omnitide ledger status [options]\n${commonUsage}`,
  async run(argv) {
    const { values } = parse(argv, common);
    const l = await openFrom(values);
    try {
      const s = { origin: l.origin, hash: l.hash, size: l.size, rootHash: hex(l.root()), checkpoint: l.lastCheckpoint() ?? null };
      if (values.json) printJson(s);
      else out(`${s.origin} (${s.hash}): ${s.size} entries, root ${s.rootHash}`);
    } finally {
      await l.close();
    }
    return 0;
  },
};

const checkpoint: Command = {
  summary: 'sign a checkpoint (C2SP signed note) of the current tree',
  usage: `omnitide ledger checkpoint [options]   (needs --key)\n${commonUsage}`,
  async run(argv) {
    const { values } = parse(argv, common);
    const l = await openFrom(values);
    try {
      const c = await l.checkpoint();
      if (values.json) printJson({ origin: c.origin, size: c.size, rootHash: hex(c.rootHash), timestamp: c.timestamp, text: c.text });
      else process.stdout.write(c.text);
    } finally {
      await l.close();
    }
    return 0;
  },
};

const verify: Command = {
  summary: 'integrity check (--full re-hashes every entry)',
  usage: `omnitide ledger verify [options] [--full]\n${commonUsage}`,
  async run(argv) {
    const { values } = parse(argv, { ...common, full: { type: 'boolean' } });
    const l = await openFrom(values);
    try {
      await l.verify({ full: !!values.full });
      values.json ? printJson({ ok: true, size: l.size }) : out(`ok: ${l.size} entries verified${values.full ? '' : ' (tail)'}`);
    } finally {
      await l.close();
    }
    return 0;
  },
};

const bundle: Command = {
  summary: 'write a proof bundle (entry + inclusion proof + checkpoint) for INDEX',
  usage: `omnitide ledger bundle [options] INDEX --out FILE\n${commonUsage}`,
  async run(argv) {
    const { values, positionals } = parse(argv, { ...common, out: { type: 'string' } });
    if (!values.out) throw new UsageError('--out is required');
    const l = await openFrom(values);
    try {
      const b = await l.bundle(Number(positionals[0]));
      writeFileSync(values.out, Ledger.encodeBundle(b));
      values.json ? printJson({ index: b.index, treeSize: b.treeSize, file: values.out }) : out(`bundle for ${b.index} (tree size ${b.treeSize}) written to ${values.out}`);
    } finally {
      await l.close();
    }
    return 0;
  },
};

const verifyBundle: Command = {
  summary: 'verify a bundle file or checkpoint file offline against a public key',
  usage: `omnitide ledger check (--bundle FILE | --checkpoint FILE) --public-key HEX [--json]`,
  async run(argv) {
    const { values } = parse(argv, { bundle: { type: 'string' }, checkpoint: { type: 'string' }, 'public-key': { type: 'string' } });
    if (!values['public-key']) throw new UsageError('--public-key is required');
    const pk = fromHex('--public-key', values['public-key'], 32);
    let v;
    if (values.bundle) v = Ledger.verifyBundle(new Uint8Array(readFileSync(values.bundle)), pk);
    else if (values.checkpoint) v = Ledger.verifyCheckpoint(readFileSync(values.checkpoint, 'utf8'), pk);
    else throw new UsageError('--bundle or --checkpoint is required');
    if (values.json) printJson({ valid: v.valid, reason: v.reason, size: v.checkpoint.size, rootHash: hex(v.checkpoint.rootHash) });
    else out(v.valid ? `valid (tree size ${v.checkpoint.size})` : `INVALID: ${v.reason}`);
    return v.valid ? 0 : 1;
  },
};

export const ledgerCommands: CommandGroup = {
  summary: 'embedded transparency log: append, status, checkpoint, bundle, verify, check',
  commands: { append, get, status, checkpoint, verify, bundle, check: verifyBundle },
};
