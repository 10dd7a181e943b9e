/**
 * Builds (release, its own target directory) and runs the Rust comparison of
 * bench/cedar-rs on the bench's policies, entities and requests. The
 * cedar-policy crate is large: the first build takes minutes, later ones are
 * cached. Returns the program's JSON line, or `{ error }` when cargo is
 * missing or the build fails (the rest of the bench still runs).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '..', '..');

export async function cedarRust(policies: string, entities: unknown, requests: unknown): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'omni-cedar-rs-'));
  try {
    writeFileSync(join(dir, 'policies.cedar'), policies);
    writeFileSync(join(dir, 'entities.json'), JSON.stringify(entities));
    writeFileSync(join(dir, 'requests.json'), JSON.stringify(requests));
    const args = ['run', '--release', '--quiet', '--manifest-path', join(root, 'bench', 'cedar-rs', 'Cargo.toml'), '--target-dir', join(root, 'target', 'cedar-bench'), '--', dir];
    console.log('building and running bench/cedar-rs (cedar-policy vs omnitide native; the first build takes minutes)');
    const r = spawnSync('cargo', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 1_800_000 });
    if (r.status !== 0) return { error: `cargo run bench/cedar-rs failed (${r.error?.message ?? `status ${r.status}`})` };
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    console.log(`  Cedar Rust Authorizer ${(out.cedarRustPerSec / 1e6).toFixed(2)}M/s   omnitide native ${(out.omnitideNativePerSec / 1e6).toFixed(2)}M/s   ${out.ratio.toFixed(2)}x`);
    return { ...out, goal: '>= 1.0x cedar-policy Authorizer::is_authorized, same inputs, one core' };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
