// Runs inside the VM (pure cgroup2, every controller): proves each limit set
// through omnitide/kernel is enforced. Prints one "OMNI_VM_RESULT {json}" line.
const repo = process.argv[2];
const { cgroup } = require(`${repo}/dist/kernel/index.js`);
const { spawnSync } = require('node:child_process');
const { readFileSync } = require('node:fs');

const results = {};
const kv = (file) => Object.fromEntries(readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split(/\s+/)).map(([k, v]) => [k, Number(v)]));
const inGroup = (g, script, timeout = 120000) => {
  const t = Date.now();
  const r = spawnSync('/bin/sh', ['-c', `echo $$ > ${g.fsPath}/cgroup.procs; ${script}`], { encoding: 'utf8', timeout });
  return { ...r, ms: Date.now() - t };
};
async function step(name, fn) {
  try {
    results[name] = await fn();
  } catch (e) {
    results[name] = { ok: false, error: `${e.code ?? ''} ${e.message}` };
  }
}

(async () => {
  results.root = cgroup.root();
  results.controllers = readFileSync(`${results.root}/cgroup.controllers`, 'utf8').trim();

  await step('pids', async () => {
    const g = cgroup.create('omni-vm/pids');
    g.setLimits({ pids: { max: 4 } });
    const r = inGroup(g, 'for i in 1 2 3 4 5 6 7 8; do sleep 1 & done; wait');
    const ev = kv(`${g.fsPath}/pids.events`);
    await g.remove({ force: true });
    return { ok: ev.max > 0 && /fork/i.test(r.stderr), refusedForks: ev.max, stderr: r.stderr.split('\n')[0] };
  });

  await step('memory', async () => {
    const g = cgroup.create('omni-vm/mem');
    g.setLimits({ memory: { max: 32 * 1024 * 1024, high: 'max' } });
    const r = inGroup(g, 'exec tail /dev/zero');
    const ev = kv(`${g.fsPath}/memory.events`);
    await g.remove({ force: true });
    return { ok: r.signal === 'SIGKILL' && ev.oom_kill >= 1, signal: r.signal, oomKill: ev.oom_kill };
  });

  await step('cpu', async () => {
    const g = cgroup.create('omni-vm/cpu');
    g.setLimits({ cpu: { quotaUs: 10000, periodUs: 100000 } });
    const r = inGroup(g, 'timeout 3 sh -c "while :; do :; done"');
    const s = g.stats();
    await g.remove({ force: true });
    // 10% of one CPU over ~3 s wall is ~0.3 s; allow slack, require throttling
    return { ok: s.cpu.nr_throttled > 0 && s.cpu.usage_usec < 0.5 * r.ms * 1000, usageUsec: s.cpu.usage_usec, wallMs: r.ms, nrThrottled: s.cpu.nr_throttled };
  });

  await step('io', async () => {
    const dd = 'dd if=/dev/zero of=/dev/vda bs=64k count=32 oflag=direct 2>/dev/null';
    const free = cgroup.create('omni-vm/io-free');
    const base = inGroup(free, dd);
    await free.remove({ force: true });
    const g = cgroup.create('omni-vm/io');
    g.setLimits({ io: [{ device: '/dev/vda', wbps: 512 * 1024 }] });
    const line = readFileSync(`${g.fsPath}/io.max`, 'utf8').trim();
    const r = inGroup(g, dd);
    await g.remove({ force: true });
    // 2 MiB at 512 KiB/s takes ~4 s
    return { ok: r.status === 0 && r.ms >= 2500 && r.ms > 2 * base.ms, ioMax: line, throttledMs: r.ms, unthrottledMs: base.ms };
  });

  await step('nothingHalfApplied', async () => {
    const g = cgroup.create('omni-vm/half');
    let code = null;
    try {
      g.setLimits({ pids: { max: 7 }, io: [{ device: '/dev/does-not-exist', wbps: 1 }] });
    } catch (e) {
      code = e.code;
    }
    const pids = readFileSync(`${g.fsPath}/pids.max`, 'utf8').trim();
    await g.remove({ force: true });
    return { ok: code === 'ERR_OMNI_INVALID_ARGUMENT' && pids === 'max', code, pidsMax: pids };
  });
  await step('kernelRefusalRollsBack', async () => {
    // pids.max is written first, then io.max for a character device (/dev/null 1:3),
    // which the kernel refuses: pids.max must be restored and the controllers this
    // call enabled in the fresh parent must be disabled again.
    const g = cgroup.create('omni-vm2/half2');
    const parent = `${cgroup.root()}/omni-vm2/cgroup.subtree_control`;
    let err = null;
    try {
      g.setLimits({ pids: { max: 9 }, io: [{ device: '1:3', wbps: 1048576 }] });
    } catch (e) {
      err = `${e.code} ${e.message}`;
    }
    // with the controller disabled again the interface file is gone
    const pids = require('node:fs').existsSync(`${g.fsPath}/pids.max`) ? readFileSync(`${g.fsPath}/pids.max`, 'utf8').trim() : 'absent';
    const sc = readFileSync(parent, 'utf8').trim();
    await cgroup.open('omni-vm2').remove({ force: true });
    return { ok: err !== null && (pids === 'max' || pids === 'absent') && sc === '', error: err, pidsMax: pids, parentSubtreeControl: sc };
  });
  await cgroup.open('omni-vm').remove({ force: true }).catch(() => {});
  console.log(`OMNI_VM_RESULT ${JSON.stringify(results)}`);
})().catch((e) => {
  console.log(`OMNI_VM_RESULT ${JSON.stringify({ fatal: String(e && e.stack) })}`);
});
