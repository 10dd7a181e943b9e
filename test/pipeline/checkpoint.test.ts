/**
 * Exactly-once after SIGKILL: a checkpointed stream pipeline is killed with
 * kill -9 mid-stream, restarted, resumes from its last checkpoint, and the
 * idempotent keyed sink holds exactly the totals of one clean run.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { events } from './data.js';

const dir = mkdtempSync(join(tmpdir(), `omni-pipe-ckpt-${process.pid}-`));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runner(args: string[], killAfterBatches?: number): Promise<{ code: number | null; signal: string | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'fixtures/checkpoint-runner.ts'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      if (killAfterBatches !== undefined && (stdout.match(/^batch /gm) ?? []).length >= killAfterBatches) child.kill('SIGKILL');
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => (code !== 0 && signal === null ? reject(new Error(`runner failed (${code}): ${stderr}`)) : resolve({ code, signal, stdout })));
  });
}

describe('checkpoints', () => {
  it('a pipeline killed with SIGKILL resumes with exactly-once totals', async () => {
    const rows = events(12_000, 42, 250, 9);
    const input = join(dir, 'in.ndjson');
    writeFileSync(input, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const ckpt = join(dir, 'ckpt.json');
    const out = join(dir, 'out');

    const first = await runner([input, ckpt, out, '1'], 25);
    expect(first.signal).toBe('SIGKILL');
    expect(existsSync(ckpt)).toBe(true);
    const offset = JSON.parse(readFileSync(ckpt, 'utf8')).offset as number;
    expect(offset).toBeGreaterThan(0);
    expect(offset).toBeLessThan(rows.length);

    const second = await runner([input, ckpt, out, '0']);
    expect(second.code).toBe(0);
    const resumed = Number(/done resumedFrom=(\d+)/.exec(second.stdout)![1]);
    expect(resumed).toBeGreaterThanOrEqual(offset);
    expect(resumed).toBeLessThan(rows.length);

    // Reference totals of one clean run.
    const want = new Map<string, { n: number; total: number }>();
    for (const r of rows) {
      if (r.kind !== 'buy') continue;
      const k = `${r.user}-${Math.floor(r.ts / 1000) * 1000}`;
      const g = want.get(k) ?? { n: 0, total: 0 };
      g.n++;
      g.total += r.amount;
      want.set(k, g);
    }
    const files = readdirSync(out).filter((f) => f.endsWith('.json'));
    expect(files.length).toBe(want.size);
    for (const f of files) {
      const got = JSON.parse(readFileSync(join(out, f), 'utf8'));
      const w = want.get(f.replace(/\.json$/, ''))!;
      expect(got.n).toBe(w.n);
      expect(got.total).toBeCloseTo(w.total, 6);
    }
  });
});
