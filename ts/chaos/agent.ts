/**
 * The in-namespace XDP agent: `ip netns exec NS node agent.js` attaches
 * omnitide/kernel's filter to an interface of that namespace (XDP attaches in
 * the caller's namespace, and Node cannot setns) and executes the runner's
 * commands, one JSON line each on stdin, answering one JSON line each. It
 * exits when stdin closes: a runner that dies, even by SIGKILL, takes the
 * agent and with it the bpf link, so nothing is left behind.
 */
import { createInterface } from 'node:readline';
import { xdp, type XdpFilter } from '../kernel/index.js';

interface Command {
  op: 'attach' | 'setDrop' | 'setDropMany' | 'block' | 'unblock';
  rules?: { cidr?: string; probability: number }[];
  iface?: string;
  cidr?: string;
  cidrs?: string[];
  probability?: number;
}

export async function agentMain(): Promise<void> {
  let filter: XdpFilter | null = null;
  const reply = (v: object) => process.stdout.write(JSON.stringify(v) + '\n');
  const rl = createInterface({ input: process.stdin });
  rl.on('close', () => {
    filter?.detach();
    process.exit(0);
  });
  for await (const line of rl) {
    try {
      const c = JSON.parse(line) as Command;
      if (c.op === 'attach') {
        filter = xdp.attach({ iface: c.iface! });
        reply({ ok: true, mode: filter.mode });
      } else if (!filter) reply({ ok: false, code: 'ERR_OMNI_CLOSED', message: 'agent: no filter attached' });
      else if (c.op === 'setDrop') {
        filter.setDrop({ ...(c.cidr !== undefined ? { cidr: c.cidr } : {}), probability: c.probability! });
        reply({ ok: true });
      } else if (c.op === 'setDropMany') reply({ ok: true, n: await filter.setDropMany(c.rules!) });
      else if (c.op === 'block') reply({ ok: true, n: await filter.block(c.cidrs!) });
      else if (c.op === 'unblock') reply({ ok: true, n: filter.unblock(c.cidrs!) });
      else reply({ ok: false, code: 'ERR_OMNI_INVALID_ARGUMENT', message: `agent: unknown op ${String(c.op)}` });
    } catch (e) {
      reply({ ok: false, code: (e as { code?: string }).code ?? 'ERR_OMNI_INTERNAL', message: (e as Error).message });
    }
  }
}

if (require.main === module) void agentMain();
