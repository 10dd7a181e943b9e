// The real Toxiproxy server (Go), the differential oracle. .ci/run installs it as
// /usr/local/bin/toxiproxy-server; elsewhere the test installs it into a temp
// GOBIN with `go install` (the Go module proxy works here).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const TOXIPROXY_MODULE = 'github.com/Shopify/toxiproxy/v2/cmd/server@v2.5.0';
const GO = existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : 'go';
const GOBIN = join(tmpdir(), 'omnitide-toxiproxy-bin');

/** The server binary's path, or the reason there is none. Async: `go install` may take a while. */
export async function findToxiproxy(): Promise<{ bin?: string; missing?: string }> {
  for (const p of [process.env.TOXIPROXY_SERVER, '/usr/local/bin/toxiproxy-server', join(GOBIN, 'server')]) {
    if (p && existsSync(p)) return { bin: p };
  }
  mkdirSync(GOBIN, { recursive: true });
  return new Promise((done) => {
    execFile(GO, ['install', TOXIPROXY_MODULE], { env: { ...process.env, GOBIN }, timeout: 300_000 }, (err, _o, stderr) => {
      if (!err && existsSync(join(GOBIN, 'server'))) return done({ bin: join(GOBIN, 'server') });
      if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') return done({ missing: `Go not found at ${GO}` });
      done({ missing: `go install ${TOXIPROXY_MODULE} failed: ${String(stderr).trim().split('\n').slice(-2).join(' ')}` });
    });
  });
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

export interface GoToxiproxy {
  url: string;
  stop(): Promise<void>;
}

/** Starts the Go server on a free loopback port and waits until its API answers. */
export async function startGoToxiproxy(bin: string): Promise<GoToxiproxy> {
  const port = await freePort();
  const child: ChildProcess = spawn(bin, ['-host', '127.0.0.1', '-port', String(port)], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LOG_LEVEL: 'error' } });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const url = `http://127.0.0.1:${port}`;
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`toxiproxy-server exited: ${stderr}`);
    try {
      const r = await fetch(`${url}/version`);
      if (r.ok) return { url, stop };
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`toxiproxy-server did not answer on ${url}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
