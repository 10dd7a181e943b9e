/**
 * Autoblock benchmark, peers in the same run:
 * - log lines parsed + detected per second with Debian's sshd filter, vs
 *   `fail2ban-regex` on the same file (its process start-up measured on an
 *   empty file and subtracted);
 * - the same lines through CrowdSec's replay mode (Debian `crowdsec` 1.4, its
 *   default parsers + scenarios, offline; start-up measured on an empty file
 *   and subtracted) vs our filter + crowdsecurity/ssh-bf.yaml's leaky buckets;
 * - structured events through a leaky-bucket scenario (packed batch API);
 * - signed decisions appended to the ledger per second (attest signature +
 *   attest audit + decision ledger, durability 'batch'), one batch at a time
 *   and two in flight;
 * - event -> enforced latency on 3 nodes through a 3-server JetStream cluster
 *   on loopback (p50/p95/p99); enforcement in an XDP filter when root.
 * Saves bench/results/autoblock.json.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Autoblocker, Detector, jetstreamTransport, packEvents, xdpEnforcer, type Decision, type Enforcer } from '../ts/autoblock/index.js';
import { xdp } from '../ts/kernel/index.js';
import { authLog } from '../test/autoblock/fixtures/authlog.js';
import { crowdsecMissing, crowdsecReplay, SSH_BF, SSH_FAILED_FILTER, sshAuthLog } from '../test/autoblock/crowdsec.js';
import { NATS_SERVER, NatsCluster } from '../test/autoblock/natscluster.js';
import { save } from './harness.js';

const SSHD = '/etc/fail2ban/filter.d/sshd.conf';
const sec = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e9;
const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

async function linesBench(root: string) {
  const { text, lines } = authLog(7, Date.now() - 86400_000, { noise: Number(process.env.BENCH_AB_NOISE ?? 200_000) });
  const file = join(root, 'auth.log');
  writeFileSync(file, text);
  const d = new Detector({ jails: [{ name: 'sshd', filter: SSHD }] });
  const buf = new TextEncoder().encode(text);
  d.lines(buf); // warm-up
  const runs = 3;
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const fresh = new Detector({ jails: [{ name: 'sshd', filter: SSHD }] });
    const t = process.hrtime.bigint();
    fresh.lines(buf);
    best = Math.min(best, sec(t));
  }
  const ours = lines / best;
  let peer: number | null = null;
  let peerNote = 'fail2ban-regex not installed';
  if (existsSync('/usr/bin/fail2ban-regex')) {
    const empty = join(root, 'empty.log');
    writeFileSync(empty, '');
    let t = process.hrtime.bigint();
    spawnSync('fail2ban-regex', [empty, SSHD], { stdio: 'ignore' });
    const startup = sec(t);
    t = process.hrtime.bigint();
    const r = spawnSync('fail2ban-regex', [file, SSHD], { encoding: 'utf8', maxBuffer: 256 << 20 });
    const total = sec(t);
    peer = lines / Math.max(1e-6, total - startup);
    peerNote = `${total.toFixed(2)} s incl. ${startup.toFixed(2)} s start-up; ${/(\d+) matched/.exec(r.stdout)?.[1] ?? '?'} matched`;
  }
  const matched = d.matchLines(buf, 'sshd').filter((m) => m.kind === 'failure').length;
  console.log(`\nlog lines (sshd filter, ${lines} lines, ${matched} failures)   (goal: >= 20x fail2ban-regex)`);
  console.log(`  omnitide Detector.lines           ${(ours / 1e3).toFixed(1)}k lines/s`);
  if (peer) console.log(`  fail2ban-regex                    ${(peer / 1e3).toFixed(1)}k lines/s (${peerNote})   omnitide/fail2ban = ${(ours / peer).toFixed(1)}x`);
  return { lines, matched, omnitideLinesPerSec: ours, fail2banRegexLinesPerSec: peer, ratio: peer ? ours / peer : null, peerNote };
}

/** sshd lines -> ssh-bf overflows: ours (filter + the scenario file's buckets) vs crowdsec's replay. */
async function crowdsecBench() {
  const missing = crowdsecMissing();
  const { text, lines } = sshAuthLog(11, Number(process.env.BENCH_AB_CS_SOURCES ?? 1_000));
  const ours = () => {
    const d = new Detector({ jails: [{ name: 'ssh', filter: { text: SSH_FAILED_FILTER } }], scenarios: [{ file: SSH_BF, text: readFileSync(SSH_BF, 'utf8') }] });
    const t = process.hrtime.bigint();
    const events = d
      .matchLines(text, 'ssh')
      .filter((m) => m.kind === 'failure')
      .map((m) => ({ time: (m.time ?? 0) * 1000, log_type: 'ssh_failed-auth', source_ip: m.id ?? '' }));
    const bans = new Set(d.events(events).filter((x) => x.name === 'crowdsecurity/ssh-bf').map((x) => x.value));
    return { s: sec(t), bans };
  };
  if (missing !== null) {
    console.log(`\ncrowdsec replay: skipped (${missing})`);
    return { lines, skipped: missing };
  }
  ours(); // warm-up
  let best = Infinity;
  let bans = new Set<string>();
  for (let i = 0; i < 3; i++) {
    const r = ours();
    best = Math.min(best, r.s);
    bans = r.bans;
  }
  const empty = await crowdsecReplay('');
  const full = await crowdsecReplay(text, 600_000);
  const theirs = new Set(full.alerts.filter((a) => a.scenario === 'crowdsecurity/ssh-bf').map((a) => a.ip));
  const peer = lines / Math.max(1e-3, (full.ms - empty.ms) / 1e3);
  const oursRate = lines / best;
  const agree = bans.size === theirs.size && [...bans].every((b) => theirs.has(b));
  const peerNote = `${(full.ms / 1e3).toFixed(2)} s incl. ${(empty.ms / 1e3).toFixed(2)} s start-up (all default parsers/scenarios loaded, ${full.alerts.length} alerts pushed to its local API); ${theirs.size} ssh-bf sources, ours ${bans.size}, ${agree ? 'same set' : 'DIFFERENT sets'}`;
  console.log(`\nlog lines -> ssh-bf leaky buckets (${lines} lines)   vs crowdsec replay`);
  console.log(`  omnitide filter + ssh-bf.yaml     ${(oursRate / 1e3).toFixed(1)}k lines/s`);
  console.log(`  crowdsec -dsn file:// (replay)    ${(peer / 1e3).toFixed(1)}k lines/s (${peerNote})   omnitide/crowdsec = ${(oursRate / peer).toFixed(1)}x`);
  return { lines, omnitideLinesPerSec: oursRate, crowdsecLinesPerSec: peer, ratio: oursRate / peer, sameBans: agree, peerNote };
}

function eventsBench() {
  const d = new Detector({
    scenarios: [{ file: 'b.yaml', text: "type: leaky\nname: bf\nfilter: \"evt.Meta.log_type == 'auth_fail'\"\ngroupby: evt.Meta.source_ip\ncapacity: 50\nleakspeed: 1s\n" }],
  });
  const n = 200_000;
  const t0 = Date.now();
  const events = Array.from({ length: n }, (_, i) => ({ time: t0 + i, log_type: 'auth_fail', source_ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, user: 'root' }));
  const packed = packEvents('events', events);
  d.packed(packed);
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const t = process.hrtime.bigint();
    d.packed(packed);
    best = Math.min(best, sec(t));
  }
  const t = process.hrtime.bigint();
  d.events(events);
  const withPacking = sec(t);
  console.log(`\nstructured events through a leaky scenario, batches of ${n}   (goal: >= 1M events/s per core)`);
  console.log(`  omnitide Detector.packed          ${(n / best / 1e6).toFixed(2)}M events/s`);
  console.log(`  omnitide Detector.events (+JS packing) ${(n / withPacking / 1e6).toFixed(2)}M events/s`);
  return { events: n, packedPerSec: n / best, eventsPerSec: n / withPacking };
}

/**
 * Signed decisions from detections, appended to the ledger: batches of 2,000
 * through `ingest`, `inFlight` batches at a time. One at a time leaves a core
 * idle while a batch is signed on the pool or logged on the main thread; a
 * service ingesting a continuous stream has the next batch ready meanwhile,
 * which two in flight model. Both are reported.
 */
async function decisionRate(dir: string, inFlight: number) {
  const ab = await Autoblocker.open(dir, {
    insecurePlaintext: true,
    domain: 'bench',
    scenarios: [{ file: 't.yaml', text: 'type: trigger\nname: t\ngroupby: source_ip\n' }],
  });
  try {
    const batch = 2000;
    let k = 0;
    const mk = () => Array.from({ length: batch }, () => ({ source_ip: `10.${(k >> 16) & 255}.${(k >> 8) & 255}.${k++ & 255}` }));
    await ab.ingest(mk());
    const rounds = 6;
    const t = process.hrtime.bigint();
    const cpu0 = process.cpuUsage();
    let made = 0;
    for (let i = 0; i < rounds; i += inFlight) {
      const done = await Promise.all(Array.from({ length: inFlight }, () => ab.ingest(mk())));
      for (const d of done) made += d.length;
    }
    if (made !== rounds * batch) throw new Error(`decisions: expected ${rounds * batch}, got ${made}`);
    const rate = made / sec(t);
    // CPU time of the whole process (every thread) per decision: steadier than
    // the rate on a shared machine, and what bounds the rate on an idle one
    const cpu = process.cpuUsage(cpu0);
    return { batch, inFlight, decisionsPerSec: rate, cpuMicrosPerDecision: (cpu.user + cpu.system) / made, ledgerSize: ab.root.size };
  } finally {
    await ab.close();
  }
}

async function decisionsBench(root: string) {
  console.log(`\nsigned decisions appended (batches of 2000, durability 'batch')   (goal: >= 50k/s)`);
  const out = [];
  for (const inFlight of [1, 2]) {
    // five runs of 12,000 decisions, each into a fresh log, reported as the
    // median run (one run is ~0.3 s: a single one swings by ±15 % here)
    const runs = [];
    for (let k = 0; k < 5; k++) runs.push(await decisionRate(join(root, `dec-${inFlight}-${k}`), inFlight));
    runs.sort((a, b) => a.decisionsPerSec - b.decisionsPerSec);
    const r = { ...runs[2], runs: runs.map((x) => ({ decisionsPerSec: x.decisionsPerSec, cpuMicrosPerDecision: x.cpuMicrosPerDecision })) };
    const range = `${(runs[0].decisionsPerSec / 1e3).toFixed(1)}–${(runs[4].decisionsPerSec / 1e3).toFixed(1)}k`;
    console.log(`  omnitide Autoblocker, ${inFlight} batch${inFlight > 1 ? 'es' : ''} in flight   ${(r.decisionsPerSec / 1e3).toFixed(1)}k decisions/s median of 5 (${range})  (${r.cpuMicrosPerDecision.toFixed(1)} µs CPU per decision, all threads)`);
    out.push(r);
  }
  return out;
}

async function latencyBench(root: string) {
  if (!NATS_SERVER) {
    console.log('\nlatency: SKIPPED (nats-server not installed)');
    return null;
  }
  const cluster = await NatsCluster.start(join(root, 'nats'));
  const names = ['a', 'b', 'c'];
  const keys: Uint8Array[] = [];
  const filters: ReturnType<typeof xdp.load>[] = [];
  const nodes: Autoblocker[] = [];
  try {
    for (const d of names) {
      const ab = await Autoblocker.open(join(root, d), { insecurePlaintext: true, domain: d });
      keys.push(ab.publicKey);
      await ab.close();
    }
    let inXdp = process.getuid?.() === 0;
    for (const d of names) {
      const enforcers: Enforcer[] = [];
      if (inXdp) {
        try {
          const f = xdp.load();
          filters.push(f);
          enforcers.push(xdpEnforcer(f));
        } catch {
          inXdp = false;
        }
      }
      nodes.push(
        await Autoblocker.open(join(root, d), {
          insecurePlaintext: true,
          domain: d,
          trust: { roots: keys },
          enforcers,
          scenarios: [{ file: 't.yaml', text: 'type: trigger\nname: t\ngroupby: source_ip\n' }],
          transport: jetstreamTransport({ servers: cluster.urls, durable: d }),
        }),
      );
    }
    const n = Number(process.env.BENCH_AB_LATENCY_N ?? 300);
    const lat: number[] = [];
    for (let i = 0; i < n; i++) {
      const ip = `172.16.${i >> 8}.${i & 255}`;
      const seen = nodes.map((node) => new Promise<number>((r) => {
        const on = (d: Decision) => {
          if (d.value === ip) {
            node.off('decision', on);
            r(performance.now());
          }
        };
        node.on('decision', on);
      }));
      const t0 = performance.now();
      await nodes[i % 3].ingest({ source_ip: ip });
      const done = await Promise.all(seen);
      lat.push(Math.max(...done) - t0);
    }
    // which decision was the slowest (the first one meets a cluster that has just formed)
    const maxAt = lat.indexOf(Math.max(...lat));
    const first = lat[0];
    lat.sort((a, b) => a - b);
    const r = { n, inXdp, p50: pct(lat, 50), p95: pct(lat, 95), p99: pct(lat, 99), max: lat[lat.length - 1], maxAt, first };
    console.log(`\nevent -> enforced on all 3 nodes via JetStream (3 servers, loopback${inXdp ? ', XDP maps' : ', no XDP (not root)'})   (goal: p95 < 20 ms)`);
    console.log(`  p50 ${r.p50.toFixed(2)} ms   p95 ${r.p95.toFixed(2)} ms   p99 ${r.p99.toFixed(2)} ms   max ${r.max.toFixed(2)} ms (decision #${maxAt}; the first took ${first.toFixed(2)} ms)  (${n} decisions)`);
    return r;
  } finally {
    for (const n of nodes) await n.close();
    for (const f of filters) f.close();
    await cluster.stop();
  }
}

async function main() {
  const root = mkdtempSync(join(tmpdir(), 'omni-ab-bench-'));
  try {
    // one part only (profiling), nothing saved: BENCH_AB_ONLY=decisions | latency
    const only = process.env.BENCH_AB_ONLY;
    if (only === 'decisions') return void (await decisionsBench(root));
    if (only === 'latency') return void (await latencyBench(root));
    if (only) throw new Error(`BENCH_AB_ONLY: expected 'decisions' or 'latency', got '${only}'`);
    const lines = await linesBench(root);
    const crowdsec = await crowdsecBench();
    const events = eventsBench();
    const decisions = await decisionsBench(root);
    const latency = await latencyBench(root);
    save('autoblock', { lines, crowdsec, events, decisions, latency });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
