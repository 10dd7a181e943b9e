// Runs inside the VM after guest.cjs (same boot): the chaos engine applies the
// faults this host's kernel cannot have — netem (delay + loss on the loopback
// of a namespace created here) and cgroup-limits (cpu.max, memory.max,
// pids.max, io.max on /dev/vda) — measures that they act, checks they are
// restored exactly, and that a SIGKILLed runner's faults are undone by
// `omnitide chaos status --repair` from the journal. Everything it creates is
// removed. Prints one "OMNI_VM_CHAOS_RESULT {json}" line.
const repo = process.argv[2];
const chaos = require(`${repo}/dist/chaos/index.js`);
const { cgroup } = require(`${repo}/dist/kernel/index.js`);
const { spawn, spawnSync } = require('node:child_process');
const { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } = require('node:fs');

const CLI = `${repo}/dist/cli/main.js`;
const NS = 'omni-vm-chaos';
const BASE = 'omni-vm-chaos';
const LIMIT_FILES = ['cpu.max', 'memory.max', 'memory.high', 'pids.max', 'io.max'];
const results = {};
const state = mkdtempSync('/tmp/omni-vm-chaos-state-');
const sh = (cmd) => spawnSync('/bin/sh', ['-c', cmd], { encoding: 'utf8', timeout: 120000 });
const files = (g) => Object.fromEntries(LIMIT_FILES.map((f) => [f, readFileSync(`${g.fsPath}/${f}`, 'utf8').trim()]));
const kv = (file) => Object.fromEntries(readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split(/\s+/)).map(([k, v]) => [k, Number(v)]));
const netemOn = () => /\bnetem\b/.test(sh(`tc -n ${NS} qdisc show dev lo`).stdout);
const inGroup = (g, script) => {
  const t = Date.now();
  const r = spawnSync('/bin/sh', ['-c', `echo $$ > ${g.fsPath}/cgroup.procs; ${script}`], { encoding: 'utf8', timeout: 120000 });
  return { ...r, ms: Date.now() - t };
};
async function until(what, fn, ms = 120000) {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
async function step(name, fn) {
  const t = Date.now();
  try {
    results[name] = { ...(await fn()), secs: (Date.now() - t) / 1000 };
  } catch (e) {
    results[name] = { ok: false, error: `${e.code ?? ''} ${e.stack ?? e.message}` };
  }
}

// One-way UDP over the namespace's loopback: N datagrams carrying their send
// time, paced 5 ms apart; reports how many arrived and the one-way delays.
const MEASURE = `const d=require('dgram');const N=+process.argv[1];const r=d.createSocket('udp4'),s=d.createSocket('udp4');const lat=[];
r.on('message',(m)=>lat.push(Number(process.hrtime.bigint()-m.readBigUInt64BE(0))/1e6));
r.bind(0,'127.0.0.1',async()=>{const port=r.address().port;let last=Date.now();
for(let i=0;i<N;i++){const b=Buffer.alloc(64);b.writeBigUInt64BE(process.hrtime.bigint(),0);await new Promise((ok)=>s.send(b,port,'127.0.0.1',ok));last=Date.now();await new Promise((ok)=>setTimeout(ok,5))}
while(lat.length<N&&Date.now()-last<3000)await new Promise((ok)=>setTimeout(ok,20));
lat.sort((a,b)=>a-b);console.log(JSON.stringify({sent:N,received:lat.length,minMs:lat[0]??null,medianMs:lat[lat.length>>1]??null}));process.exit(0)});`;
function measure(n = 200) {
  const r = spawnSync('ip', ['netns', 'exec', NS, process.execPath, '-e', MEASURE, String(n)], { encoding: 'utf8', timeout: 120000 });
  if (r.status !== 0) throw new Error(`measure: ${r.status} ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

function limitGroup(name) {
  // the controllers must be offered to the target (the plan refuses otherwise): enable them on the way down
  for (const dir of [cgroup.root(), `${cgroup.root()}/${BASE}`]) {
    if (!existsSync(dir)) cgroup.create(BASE);
    writeFileSync(`${dir}/cgroup.subtree_control`, '+cpu +memory +pids +io');
  }
  return cgroup.create(`${BASE}/${name}`);
}

(async () => {
  sh(`ip netns add ${NS} && ip -n ${NS} link set lo up`);
  results.netnsCreated = existsSync(`/run/netns/${NS}`);

  await step('netem', async () => {
    const before = measure();
    let during = null;
    let qdiscDuring = '';
    const report = await chaos.runExperiment(
      chaos
        .experiment('netem in the VM')
        .method(
          chaos.action('delay and loss on the loopback', { type: 'netem', interfaces: ['lo'], netns: NS, delayMs: 100, lossPercent: 30 }),
          chaos.probe('one-way UDP under netem', {
            type: 'function',
            fn: () => {
              qdiscDuring = sh(`tc -n ${NS} qdisc show dev lo`).stdout.trim();
              during = measure();
              return during.received;
            },
          }),
        )
        .build(),
      { stateDir: state, handleSignals: false },
    );
    const after = measure();
    const qdiscAfter = sh(`tc -n ${NS} qdisc show dev lo`).stdout.trim();
    // 30% loss of 200: mean 140 received, sd 6.5; bounds at about 6 sd. netem never sends early, so every
    // delayed datagram took at least the 100 ms delay; without it none did.
    const ok =
      report.status === 'completed' &&
      before.received >= 196 &&
      during !== null &&
      during.received >= 100 &&
      during.received <= 180 &&
      during.minMs >= 99 &&
      /netem .*delay 100ms loss 30%/.test(qdiscDuring) &&
      !/netem/.test(qdiscAfter) &&
      after.received >= 196 &&
      after.minMs < 99 &&
      chaos.status(state).clean;
    return { ok, status: report.status, before, during, after, qdiscDuring, qdiscAfter, faults: report.faults.map((f) => [f.fault, f.removedAt !== null]) };
  });

  await step('limits', async () => {
    const g = limitGroup('limits');
    const before = files(g);
    const seen = {};
    const report = await chaos.runExperiment(
      chaos
        .experiment('cgroup limits in the VM')
        .method(
          chaos.action('limit the group', {
            type: 'cgroup-limits',
            cgroups: [g.path],
            limits: { cpu: { quotaUs: 10000, periodUs: 100000 }, memory: { max: 32 * 1024 * 1024 }, pids: { max: 4 }, io: [{ device: '/dev/vda', wbps: 512 * 1024 }] },
          }),
          chaos.probe('the limits act', {
            type: 'function',
            fn: () => {
              seen.files = files(g);
              const forks = inGroup(g, 'for i in 1 2 3 4 5 6 7 8; do sleep 1 & done; wait');
              seen.pidsRefused = kv(`${g.fsPath}/pids.events`).max;
              seen.forkError = /fork/i.test(forks.stderr);
              const mem = inGroup(g, 'exec tail /dev/zero');
              seen.memSignal = mem.signal;
              seen.oomKill = kv(`${g.fsPath}/memory.events`).oom_kill;
              // usage_usec is cumulative (tail above spun too): the busy loop's share is the difference
              const used0 = g.stats().cpu.usage_usec;
              const cpu = inGroup(g, 'timeout 2 sh -c "while :; do :; done"');
              const st = g.stats();
              seen.cpu = { wallMs: cpu.ms, usageUsec: st.cpu.usage_usec - used0, nrThrottled: st.cpu.nr_throttled };
              // 1 MiB at 512 KiB/s takes ~2 s
              const io = inGroup(g, 'dd if=/dev/zero of=/dev/vda bs=64k count=16 oflag=direct 2>/dev/null');
              seen.io = { status: io.status, ms: io.ms };
              return true;
            },
          }),
        )
        .build(),
      { stateDir: state, handleSignals: false },
    );
    const after = files(g);
    await g.remove({ force: true });
    const ok =
      report.status === 'completed' &&
      seen.files['cpu.max'] === '10000 100000' &&
      seen.files['memory.max'] === String(32 * 1024 * 1024) &&
      seen.files['pids.max'] === '4' &&
      /^\d+:\d+ rbps=max wbps=524288 riops=max wiops=max$/.test(seen.files['io.max']) &&
      seen.pidsRefused > 0 &&
      seen.forkError &&
      seen.memSignal === 'SIGKILL' &&
      seen.oomKill >= 1 &&
      seen.cpu.nrThrottled > 0 &&
      // 10% of one CPU: well under half the wall time even with slack
      seen.cpu.usageUsec < 0.5 * seen.cpu.wallMs * 1000 &&
      seen.io.status === 0 &&
      seen.io.ms >= 1200 &&
      JSON.stringify(after) === JSON.stringify(before) &&
      chaos.status(state).clean;
    return { ok, status: report.status, before, seen, after };
  });

  await step('repair', async () => {
    const g = limitGroup('repair');
    const before = files(g);
    const file = `${state}/crash.json`;
    writeFileSync(
      file,
      JSON.stringify({
        title: 'vm crash',
        method: [
          { type: 'action', name: 'netem', provider: { type: 'netem', interfaces: ['lo'], netns: NS, delayMs: 50, jitterMs: 5 } },
          {
            type: 'action',
            name: 'limits',
            provider: { type: 'cgroup-limits', cgroups: [g.path], limits: { cpu: { quotaUs: 20000 }, memory: { max: 48 * 1024 * 1024, high: 40 * 1024 * 1024 }, pids: { max: 7 }, io: [{ device: '/dev/vda', rbps: 1048576, wiops: 100 }] } },
            pauses: { after: 300 },
          },
        ],
      }),
    );
    const child = spawn(process.execPath, [CLI, 'chaos', 'run', file, '--state-dir', state], { stdio: 'ignore' });
    const exit = new Promise((res) => child.once('exit', (c, s) => res(s ?? c)));
    try {
      await until('the runner to apply both faults', () => {
        const run = chaos.status(state).runs.find((r) => r.title === 'vm crash' && r.running);
        return !!run && run.outstanding.length === 2 && netemOn() && readFileSync(`${g.fsPath}/pids.max`, 'utf8').trim() === '7';
      });
    } catch (e) {
      child.kill('SIGKILL');
      throw e;
    }
    const applied = files(g);
    child.kill('SIGKILL');
    const signal = await exit;
    // the kernel keeps both: only the journal can undo them
    const leftAfterKill = { netem: netemOn(), files: files(g) };
    const crashed = chaos.status(state).runs.find((r) => r.title === 'vm crash');
    const repair = spawnSync(process.execPath, [CLI, 'chaos', 'status', '--repair', '--state-dir', state], { encoding: 'utf8', timeout: 120000 });
    const after = files(g);
    const netemAfter = netemOn();
    await g.remove({ force: true });
    const ok =
      signal === 'SIGKILL' &&
      leftAfterKill.netem &&
      leftAfterKill.files['pids.max'] === '7' &&
      crashed.status === 'crashed' &&
      crashed.outstanding.map((o) => o.fault).sort().join() === 'cgroup-limits,netem' &&
      /repaired 2 fault\(s\) of 1 crashed run\(s\)/.test(repair.stdout) &&
      /^clean/m.test(repair.stdout) &&
      repair.status === 0 &&
      !netemAfter &&
      JSON.stringify(after) === JSON.stringify(before) &&
      chaos.status(state).clean;
    return { ok, applied, leftAfterKill: leftAfterKill.netem, repairOut: repair.stdout.trim().split('\n').slice(0, 3), after, before };
  });
})()
  .catch((e) => {
    results.fatal = String(e && e.stack);
  })
  .finally(async () => {
    sh(`ip netns del ${NS}`);
    await cgroup
      .open(BASE)
      .remove({ force: true })
      .catch(() => {});
    rmSync(state, { recursive: true, force: true });
    results.leftovers = { netns: existsSync(`/run/netns/${NS}`), cgroup: existsSync(`${cgroup.root()}/${BASE}`), stateDir: existsSync(state) };
    console.log(`OMNI_VM_CHAOS_RESULT ${JSON.stringify(results)}`);
  });
