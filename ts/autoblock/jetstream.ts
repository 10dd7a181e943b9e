/**
 * Decision replication on NATS JetStream (Raft-replicated streams; npm `nats`).
 * Every node publishes its signed decisions to one stream and applies the
 * stream in order through a durable consumer of its own:
 * - publishes carry `Nats-Msg-Id` = decision ID, so a retried publish (leader
 *   change, timeout) is stored once;
 * - a message is acked only after it was verified, appended and enforced; a
 *   redelivery of an applied decision is recognised by its ID and skipped;
 * - a node that was down resumes from its durable consumer's position.
 * While the servers are unreachable (also when the node starts), publishes are
 * queued and retried in order (local detections are still decided and signed).
 * A publish resolves once the stream stored every envelope and rejects with
 * ERR_OMNI_CLOSED when the transport closes first; the autoblocker keeps those
 * in its on-disk outbox (`outbox.ts`) and publishes them again when it reopens.
 */
import { AckPolicy, connect, DeliverPolicy, headers, type ConsumerMessages, type JetStreamClient, type NatsConnection } from 'nats';
import { ErrorCodes, invalidArgument, OmniError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Transport } from './autoblocker.js';

export interface JetStreamOptions {
  /** nats://host:port URLs of the cluster */
  servers: string[];
  /** stream name (default AUTOBLOCK) */
  stream?: string;
  /** subject (default autoblock.decisions) */
  subject?: string;
  /** this node's durable consumer name (unique per node) */
  durable: string;
  /** stream replicas (default: min(3, servers)) */
  replicas?: number;
  /** publish retry interval while the cluster is unavailable (ms, default 250) */
  retryMs?: number;
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

interface Batch {
  left: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

export function jetstreamTransport(opts: JetStreamOptions): Transport & { readonly pending: number } {
  if (!Array.isArray(opts?.servers) || opts.servers.length === 0) throw invalidArgument('opts.servers', 'expected at least one nats:// URL');
  if (typeof opts.durable !== 'string' || !NAME.test(opts.durable)) throw invalidArgument('opts.durable', 'expected 1-64 characters of [A-Za-z0-9_-]');
  const stream = opts.stream ?? 'AUTOBLOCK';
  const subject = opts.subject ?? 'autoblock.decisions';
  if (!NAME.test(stream)) throw invalidArgument('opts.stream', 'expected 1-64 characters of [A-Za-z0-9_-]');
  const replicas = opts.replicas ?? Math.min(3, opts.servers.length);
  const retryMs = opts.retryMs ?? 250;

  let nc: NatsConnection | null = null;
  let js: JetStreamClient | null = null;
  let messages: ConsumerMessages | null = null;
  let closed = false;
  let log: Logger | null = null;
  /** envelopes not yet stored, each with the publish call waiting for it */
  const outbox: { env: string; batch: Batch }[] = [];
  let flushing: Promise<void> | null = null;
  /** resolves once connected and the stream exists (the cluster may be down at start) */
  let ready: (() => void) | null = null;
  const connected = new Promise<void>((r) => (ready = r));
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  const idOf = (env: string) => {
    // the decision ID is not in the envelope; the signature is unique per decision
    const e = JSON.parse(env) as { payload: string; signatures: { sig: string }[] };
    return e.signatures[0]?.sig.slice(0, 64) ?? e.payload.slice(0, 64);
  };

  async function flush(): Promise<void> {
    await connected;
    while (outbox.length && !closed) {
      const { env, batch } = outbox[0];
      try {
        const h = headers();
        h.set('Nats-Msg-Id', idOf(env));
        await js!.publish(subject, new TextEncoder().encode(env), { headers: h, timeout: 2000 });
        outbox.shift();
        if (--batch.left === 0) batch.resolve();
      } catch (err) {
        log?.warn({ err: (err as Error).message, pending: outbox.length }, 'autoblock jetstream: publish failed, retrying');
        await sleep(retryMs);
      }
    }
  }

  const kick = () => {
    if (!flushing) flushing = flush().finally(() => {
      flushing = null;
      if (outbox.length && !closed) kick();
    });
  };

  async function ensureStream(): Promise<void> {
    // A fresh cluster needs a moment to elect its JetStream meta leader, and an API request
    // sent meanwhile can go unanswered: with nats.js's default 5 s API timeout one such
    // request held a node's start (and every decision published through it) for 5.5 s, in
    // about half the runs of a just-formed 3-server cluster. Each step is idempotent and
    // retried, so a request unanswered for 1 s is simply asked again (8 of 8 runs then took
    // 0.6-1.75 s).
    for (let attempt = 0; ; attempt++) {
      try {
        const jsm = await nc!.jetstreamManager({ timeout: 1000 });
        try {
          await jsm.streams.info(stream);
        } catch {
          await jsm.streams.add({ name: stream, subjects: [subject], num_replicas: replicas, duplicate_window: 120e9 });
        }
        try {
          await jsm.consumers.info(stream, opts.durable);
        } catch {
          await jsm.consumers.add(stream, { durable_name: opts.durable, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, max_ack_pending: 1 });
        }
        return;
      } catch (err) {
        if (closed) throw err;
        if (attempt % 40 === 39) log?.warn({ err: (err as Error).message }, 'autoblock jetstream: stream not ready yet, retrying');
        await sleep(250);
      }
    }
  }

  return {
    get pending() {
      return outbox.length;
    },
    async publish(envelopes) {
      if (closed) throw new OmniError(ErrorCodes.CLOSED, 'jetstream transport: closed');
      if (envelopes.length === 0) return;
      const done = new Promise<void>((resolve, reject) => {
        const batch: Batch = { left: envelopes.length, resolve, reject };
        for (const env of envelopes) outbox.push({ env, batch });
      });
      kick();
      await done;
    },
    async start(deliver, logger) {
      log = logger;
      // connects in the background: a node opens (and decides, enforces,
      // queues its decisions) while every server is down
      void (async () => {
        while (!closed) {
          try {
            const c = await connect({ servers: opts.servers, maxReconnectAttempts: -1, reconnectTimeWait: 100, timeout: 2000, name: `omnitide-autoblock-${opts.durable}` });
            if (closed) return void (await c.close().catch(() => undefined));
            nc = c;
            break;
          } catch (err) {
            logger.warn({ err: (err as Error).message }, 'autoblock jetstream: cluster unreachable, retrying');
            await sleep(retryMs);
          }
        }
        if (closed || !nc) return;
        js = nc.jetstream();
        await ensureStream();
        ready!();
        await consume(deliver, logger);
      })().catch((err) => {
        if (!closed) logger.error({ err }, 'autoblock jetstream: transport stopped');
      });
    },
    async close() {
      closed = true;
      const err = new OmniError(ErrorCodes.CLOSED, 'jetstream transport: closed before the decision was stored');
      const batches = new Set(outbox.splice(0).map((o) => o.batch));
      for (const b of batches) b.reject(err);
      ready!();
      try {
        messages?.stop();
      } catch {
        // already stopped
      }
      if (nc) await nc.close().catch(() => undefined);
    },
  };

  async function consume(deliver: (envelope: string) => Promise<void>, logger: Logger): Promise<void> {
    const consumer = await js!.consumers.get(stream, opts.durable);
    while (!closed) {
      try {
        // pulls expire after 5 s (nats.js default 30 s): a pull lost with a killed leader is
        // noticed after two missed heartbeats (expires / 2 each), 5 s instead of 30 s of silence
        // in which no decision reaches this node
        messages = await consumer.consume({ max_messages: 64, expires: 5_000 });
        for await (const m of messages) {
          await deliver(new TextDecoder().decode(m.data));
          m.ack();
        }
      } catch (err) {
        if (closed) return;
        logger.warn({ err: (err as Error).message }, 'autoblock jetstream: consumer interrupted, resuming');
        await sleep(retryMs);
      }
    }
  }
}
