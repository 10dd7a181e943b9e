import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ledger } from '../../ts/ledger/index.js';
import { ed25519 } from '../../ts/crypto/index.js';

const entry = (i: number) => `node crash entry ${String(i).padStart(10, '0')} ${'.'.repeat(i % 53)}`;
const ROUNDS = Number(process.env.OMNI_LEDGER_CRASH_ROUNDS ?? 12);

function runAndKill(dir: string, durability: string, sk: string, delayMs: number) {
  return new Promise<{ acked: number; cp: number; opened: boolean }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'fixtures/writer.ts'), dir, durability, sk], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const st = { acked: -1, cp: -1, opened: false };
    let buf = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('ack ')) st.acked = Number(line.slice(4));
        else if (line.startsWith('cp ')) st.cp = Number(line.slice(3));
        else if (line.startsWith('open ')) {
          st.opened = true;
          timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
        }
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') resolve(st);
      else reject(new Error(`writer exited by itself (code ${code}): ${stderr}`));
    });
  });
}

describe('ledger lock across processes', () => {
  it('a second process opening the directory for writing gets ERR_OMNI_LOCKED', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'omni-ledger-lock-'));
    const sk = Buffer.from(ed25519.generateKeyPair().secretKey).toString('hex');
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'fixtures/writer.ts'), dir, 'none', sk], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => d.toString().includes('open ') && resolve()));
      const err = await Ledger.open(dir, { origin: 'crash.example/log' }).then(() => undefined, (e: unknown) => e);
      expect((err as { code?: string })?.code).toBe('ERR_OMNI_LOCKED');
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => child.on('exit', r));
    }
    // The lock dies with its holder.
    const l = await Ledger.open(dir, { origin: 'crash.example/log' });
    expect(l.size).toBeGreaterThanOrEqual(0);
    await l.verify({ full: true });
    await l.close();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('ledger kill -9', () => {
  it(`keeps every acknowledged entry across ${ROUNDS} SIGKILLs at random points`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'omni-ledger-crash-'));
    const kp = ed25519.generateKeyPair();
    const sk = Buffer.from(kp.secretKey).toString('hex');
    let acked = -1;
    let lastCp: { size: number; rootHash: Uint8Array } | undefined;
    try {
      for (let r = 0; r < ROUNDS; r++) {
        const mode = ['batch', 'always', 'none'][r % 3];
        const st = await runAndKill(dir, mode, sk, 20 + Math.floor(Math.random() * 250));
        expect(st.opened).toBe(true);
        acked = Math.max(acked, st.acked);
        const l = await Ledger.open(dir, { origin: 'crash.example/log' });
        expect(l.size).toBeGreaterThanOrEqual(acked + 1);
        await l.verify({ full: true });
        let i = 0;
        for await (const e of l.entries()) {
          expect(new TextDecoder().decode(e)).toBe(entry(i));
          i++;
        }
        const text = l.lastCheckpoint();
        if (st.cp >= 0) expect(text).toBeDefined();
        if (text) {
          const v = Ledger.verifyCheckpoint(text, kp.publicKey);
          expect(v.valid).toBe(true);
          expect(v.checkpoint.size).toBeGreaterThanOrEqual(st.cp);
          expect(Buffer.from(l.root(v.checkpoint.size)).equals(Buffer.from(v.checkpoint.rootHash))).toBe(true);
          if (lastCp) {
            const proof = l.consistencyProof(lastCp.size, v.checkpoint.size);
            expect(
              Ledger.verifyConsistency({ oldSize: lastCp.size, newSize: v.checkpoint.size, oldRoot: lastCp.rootHash, newRoot: v.checkpoint.rootHash, proof }).valid,
            ).toBe(true);
          }
          lastCp = v.checkpoint;
        }
        await l.close();
      }
      expect(acked).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
