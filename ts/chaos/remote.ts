/**
 * A filter on an interface of another network namespace, driven through the
 * agent (agent.ts) started with `ip netns exec`. Same verbs as the local
 * XdpFilter the fault engine uses; the agent dies with its stdin pipe.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { OmniError } from '../errors.js';

/** The verbs the fault engine needs from a filter, local or in a namespace. */
export interface FilterLike {
  setDrop(rule: { cidr?: string; probability: number }): void | Promise<void>;
  /** every rule in one call, all-or-nothing */
  setDropMany(rules: { cidr?: string; probability: number }[]): Promise<number>;
  block(cidrs: string[]): Promise<number>;
  unblock(cidrs: string[]): number | Promise<number>;
  detach(): void;
}

function agentCommand(): string[] {
  const js = join(__dirname, 'agent.js');
  if (existsSync(js)) return [process.execPath, js];
  // running from the TypeScript sources (tests, tsx): the agent goes through tsx as well
  return [process.execPath, '--import', 'tsx', join(__dirname, 'agent.ts')];
}

export class RemoteFilter implements FilterLike {
  readonly #child: ChildProcess;
  readonly #lines: Interface;
  readonly #waiting: ((v: { ok: boolean; code?: string; message?: string; n?: number }) => void)[] = [];
  #dead: string | null = null;

  private constructor(child: ChildProcess) {
    this.#child = child;
    this.#lines = createInterface({ input: child.stdout! });
    this.#lines.on('line', (l) => {
      try {
        this.#waiting.shift()?.(JSON.parse(l));
      } catch {
        /* not ours (stray output) */
      }
    });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    child.once('exit', (code, sig) => {
      this.#dead = `agent exited (${sig ?? code})${stderr ? `: ${stderr.trim().split('\n').pop()}` : ''}`;
      for (const w of this.#waiting.splice(0)) w({ ok: false, code: 'ERR_OMNI_IO', message: this.#dead });
    });
  }

  static async attach(netns: string, iface: string): Promise<RemoteFilter> {
    const child = spawn('ip', ['netns', 'exec', netns, ...agentCommand()], { stdio: ['pipe', 'pipe', 'pipe'], cwd: join(__dirname, '..', '..') });
    const f = new RemoteFilter(child);
    try {
      await f.#call({ op: 'attach', iface });
    } catch (e) {
      f.detach();
      throw e;
    }
    return f;
  }

  #call(cmd: object): Promise<{ n?: number }> {
    if (this.#dead) return Promise.reject(new OmniError('ERR_OMNI_IO', this.#dead));
    return new Promise((resolve, reject) => {
      this.#waiting.push((r) => (r.ok ? resolve(r) : reject(new OmniError((r.code ?? 'ERR_OMNI_INTERNAL') as `ERR_OMNI_${string}`, r.message ?? 'agent error'))));
      this.#child.stdin!.write(JSON.stringify(cmd) + '\n');
    });
  }

  async setDrop(rule: { cidr?: string; probability: number }): Promise<void> {
    await this.#call({ op: 'setDrop', ...rule });
  }
  async setDropMany(rules: { cidr?: string; probability: number }[]): Promise<number> {
    return (await this.#call({ op: 'setDropMany', rules })).n ?? 0;
  }
  async block(cidrs: string[]): Promise<number> {
    return (await this.#call({ op: 'block', cidrs })).n ?? 0;
  }
  async unblock(cidrs: string[]): Promise<number> {
    return (await this.#call({ op: 'unblock', cidrs })).n ?? 0;
  }
  /** Closing stdin makes the agent detach and exit. */
  detach(): void {
    this.#child.stdin?.end();
    if (!this.#dead) setTimeout(() => this.#child.kill('SIGKILL'), 5000).unref();
  }
}
