/** A real 3-server NATS JetStream cluster on loopback, started and stopped by the caller. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const NATS_SERVER = ['/usr/sbin/nats-server', '/usr/bin/nats-server'].find((p) => existsSync(p)) ?? null;

/** A TCP port that was free on loopback a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

export interface NatsNode {
  name: string;
  url: string;
  proc: ChildProcess | null;
  conf: string;
}

export class NatsCluster {
  private constructor(readonly nodes: NatsNode[]) {}

  static async start(dir: string, size = 3): Promise<NatsCluster> {
    if (!NATS_SERVER) throw new Error('nats-server is not installed');
    const ports = await Promise.all(Array.from({ length: size * 2 }, freePort));
    const nodes: NatsNode[] = [];
    for (let i = 0; i < size; i++) {
      const name = `n${i + 1}`;
      const store = join(dir, name);
      mkdirSync(store, { recursive: true });
      const routes = Array.from({ length: size }, (_, k) => `nats-route://127.0.0.1:${ports[size + k]}`).join(', ');
      const conf = join(dir, `${name}.conf`);
      writeFileSync(
        conf,
        `server_name: ${name}\nlisten: 127.0.0.1:${ports[i]}\njetstream { store_dir: "${store}" }\ncluster { name: omni-ab\n listen: 127.0.0.1:${ports[size + i]}\n routes: [${routes}] }\n`,
      );
      nodes.push({ name, url: `nats://127.0.0.1:${ports[i]}`, proc: null, conf });
    }
    const c = new NatsCluster(nodes);
    for (const n of nodes) c.startNode(n.name);
    await c.ready();
    return c;
  }

  /** Resolves once the cluster answers JetStream requests (meta leader elected). */
  async ready(timeoutMs = 30_000): Promise<void> {
    const { connect } = await import('nats');
    const end = Date.now() + timeoutMs;
    for (;;) {
      try {
        const nc = await connect({ servers: this.urls, timeout: 1000 });
        try {
          await (await nc.jetstreamManager()).getAccountInfo();
          return;
        } finally {
          await nc.close();
        }
      } catch (err) {
        if (Date.now() > end) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  get urls(): string[] {
    return this.nodes.map((n) => n.url);
  }

  startNode(name: string): void {
    const n = this.nodes.find((x) => x.name === name)!;
    n.proc = spawn(NATS_SERVER!, ['-c', n.conf], { stdio: 'ignore' });
  }

  async kill(name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const n = this.nodes.find((x) => x.name === name)!;
    const p = n.proc;
    n.proc = null;
    if (p && p.exitCode === null) {
      await new Promise<void>((r) => {
        p.once('exit', () => r());
        p.kill(signal);
      });
    }
  }

  async stop(): Promise<void> {
    for (const n of this.nodes) await this.kill(n.name, 'SIGTERM');
  }
}
