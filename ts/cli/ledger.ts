import { readFileSync, writeFileSync } from 'node:fs';
import { Ledger } from '../ledger/index.js';
import { type Command, type CommandGroup, fromHex, hex, out, parse, printJson, readStdin, UsageError } from './command.js';
import { readKeyFile } from './crypto.js';

const common = {
  dir: { type: 'string', short: 'd' },
  origin: { type: 'string', short: 'o' },
  hash: { type: 'string' },
  key: { type: 'string', short: 'k' },
  'rotate-key': { type: 'boolean' },
} as const;
const readOnlyOptions = { dir: common.dir, origin: common.origin } as const;
const commonUsage = `  -d, --dir DIR         ledger directory (required)
  -o, --origin ORIGIN   log origin (required to write; read-only verbs take it from ledger.json)
      --hash H          sha256 (default) or blake3
  -k, --key FILE        Ed25519 secret key file (omnitide keygen --out, or bare hex) for signing;
                        it must be the key of the stored checkpoint unless --rotate-key
      --rotate-key      rotate the checkpoint key to --key (recorded in DIR/rotations)
      --json            machine-readable output`;
const readOnlyUsage = `  -d, --dir DIR         ledger directory (required)
  -o, --origin ORIGIN   expected origin (default: the one in ledger.json)
      --json            machine-readable output
  Opens the ledger read-only: works while a service holds it open for writing.`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function openFrom(values: Record<string, any>): Promise<Ledger> {
  if (!values.dir) throw new UsageError('--dir is required');
  if (!values.origin) throw new UsageError('--origin is required');
  const signer = values.key ? readKeyFile('--key', values.key, 'secret') : undefined;
  if (values['rotate-key'] && !signer) throw new UsageError('--rotate-key needs --key');
  return Ledger.open(values.dir, { origin: values.origin, hash: values.hash, signer, rotateSigner: values['rotate-key'] || undefined });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function openReadOnly(values: Record<string, any>): Promise<Ledger> {
  if (!values.dir) throw new UsageError('--dir is required');
  return Ledger.open(values.dir, { readOnly: true, origin: values.origin });
}

function index(name: string, v: string | undefined): number {
  const n = Number(v);
  if (v === undefined || !Number.isSafeInteger(n) || n < 0) throw new UsageError(`${name}: expected a non-negative integer, got '${v ?? ''}'`);
  return n;
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
  usage: `omnitide ledger get [options] INDEX\n${readOnlyUsage}`,
  async run(argv) {
    const { values, positionals } = parse(argv, readOnlyOptions);
    const i = index('INDEX', positionals[0]);
    const l = await openReadOnly(values);
    try {
      const e = await l.get(i);
      if (values.json) printJson({ index: i, entry: Buffer.from(e).toString('base64') });
      else process.stdout.write(e);
    } finally {
      await l.close();
    }
    return 0;
  },
};

const status: Command = {
  summary: 'size, root hash and last checkpoint',
  usage: `omnitide ledger status [options]\n${readOnlyUsage}`,
  async run(argv) {
    const { values } = parse(argv, readOnlyOptions);
    const l = await openReadOnly(values);
    try {
      const s = { origin: l.origin, hash: l.hash, size: l.size, rootHash: hex(l.root()), checkpoint: l.lastCheckpoint() ?? null };
      if (values.json) printJson(s);
      else {
        out(`${s.origin} (${s.hash}): ${s.size} entries, root ${s.rootHash}`);
        if (s.checkpoint === null) out('checkpoint: none signed yet');
        else {
          const size = s.checkpoint.split('\n')[1];
          out(`checkpoint (tree size ${size}${Number(size) < s.size ? `, ${s.size - Number(size)} entries not yet covered` : ''}):`);
          process.stdout.write(s.checkpoint);
        }
      }
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
  usage: `omnitide ledger verify [options] [--full]\n${readOnlyUsage}`,
  async run(argv) {
    const { values } = parse(argv, { ...readOnlyOptions, full: { type: 'boolean' } });
    const l = await openReadOnly(values);
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
    const i = index('INDEX', positionals[0]);
    const l = await openFrom(values);
    try {
      const b = await l.bundle(i);
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

const proof: Command = {
  summary: 'inclusion proof of INDEX (and --consistency-from OLD) in the tree of --tree-size (default: current)',
  usage: `omnitide ledger proof [options] INDEX [--tree-size N] [--consistency-from OLD]\n${readOnlyUsage}
  Prints RFC 6962 audit paths as hex, one hash per line (bottom-up), after the root.`,
  async run(argv) {
    const { values, positionals } = parse(argv, { ...readOnlyOptions, 'tree-size': { type: 'string' }, 'consistency-from': { type: 'string' } });
    const i = index('INDEX', positionals[0]);
    const l = await openReadOnly(values);
    try {
      const size = values['tree-size'] === undefined ? l.size : index('--tree-size', values['tree-size']);
      const inclusion = l.inclusionProof(i, size).map(hex);
      const old = values['consistency-from'] === undefined ? undefined : index('--consistency-from', values['consistency-from']);
      const consistency = old === undefined ? undefined : l.consistencyProof(old, size).map(hex);
      const root = hex(l.root(size));
      if (values.json) printJson({ index: i, treeSize: size, rootHash: root, leafHash: hex(l.leafHash(i)), inclusion, ...(consistency ? { consistencyFrom: old, oldRootHash: hex(l.root(old)), consistency } : {}) });
      else {
        out(`root ${root} (tree size ${size})`);
        out(`inclusion of ${i} (leaf ${hex(l.leafHash(i))}):`);
        for (const h of inclusion) out(h);
        if (consistency) {
          out(`consistency from ${old} (root ${hex(l.root(old))}):`);
          for (const h of consistency) out(h);
        }
      }
    } finally {
      await l.close();
    }
    return 0;
  },
};

export const ledgerCommands: CommandGroup = {
  summary: 'embedded transparency log: append, get, status, checkpoint, verify, bundle, proof, check',
  commands: { append, get, status, checkpoint, verify, bundle, proof, check: verifyBundle },
};
