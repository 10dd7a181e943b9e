/**
 * Decision replication on NATS JetStream (Raft-replicated streams; npm `nats`).
 * Every node publishes its signed decisions to one stream and applies the
 * stream in order through a durable consumer of its own:
 * - publishes carry `Nats-Msg-Id` = decision ID, so a retried publish (leader
 *   change, timeout) is stored once;
 * - a message is acked only after it was verified, appended and enforced; a
 *   redelivery of an applied decision is recognised by its ID and skipped;
 * - a node that was down resumes from its durable consumer's position.
 * While the servers are unreachable, publishes are queued and retried in order
 * (local detections are still decided and signed); nothing is dropped.
 */
import { AckPolicy, connect, DeliverPolicy, headers, type ConsumerMessages, type JetStreamClient, type NatsConnection } from 'nats';
import { invalidArgument } from '../errors.js';
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
  const outbox: string[] = [];
  let flushing: Promise<void> | null = null;
  const waiters: (() => void)[] = [];

  const idOf = (env: string) => {
    // the decision ID is not in the envelope; the payload's digest is unique per decision
    const e = JSON.parse(env) as { payload: string; signatures: { sig: string }[] };
    return e.signatures[0]?.sig.slice(0, 64) ?? e.payload.slice(0, 64);
  };

  async function flush(): Promise<void> {
    while (outbox.length && !closed) {
      const env = outbox[0];
      try {
        const h = headers();
        h.set('Nats-Msg-Id', idOf(env));
        await js!.publish(subject, new TextEncoder().encode(env), { headers: h, timeout: 2000 });
        outbox.shift();
      } catch (err) {
        log?.warn({ err: (err as Error).message, pending: outbox.length }, 'autoblock jetstream: publish failed, retrying');
        await new Promise((r) => setTimeout(r, retryMs));
      }
    }
    for (const w of waiters.splice(0)) w();
  }

  async function ensureStream(): Promise<void> {
    // a fresh cluster needs a moment to elect its JetStream meta leader
    for (let attempt = 0; ; attempt++) {
      try {
        const jsm = await nc!.jetstreamManager();
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
        if (attempt > 120 || closed) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  return {
    get pending() {
      return outbox.length;
    },
    async publish(envelopes) {
      outbox.push(...envelopes);
      const done = new Promise<void>((r) => waiters.push(r));
      if (!flushing) flushing = flush().finally(() => (flushing = null));
      else void flushing.then(() => {
        if (outbox.length && !flushing) flushing = flush().finally(() => (flushing = null));
      });
      await done;
    },
    async start(deliver, logger) {
      log = logger;
      nc = await connect({ servers: opts.servers, maxReconnectAttempts: -1, reconnectTimeWait: 100, name: `omnitide-autoblock-${opts.durable}` });
      js = nc.jetstream();
      await ensureStream();
      const consumer = await js.consumers.get(stream, opts.durable);
      const loop = async () => {
        while (!closed) {
          try {
            messages = await consumer.consume({ max_messages: 64 });
            for await (const m of messages) {
              await deliver(new TextDecoder().decode(m.data));
              m.ack();
            }
          } catch (err) {
            if (closed) return;
            logger.warn({ err: (err as Error).message }, 'autoblock jetstream: consumer interrupted, resuming');
            await new Promise((r) => setTimeout(r, retryMs));
          }
        }
      };
      void loop();
    },
    async close() {
      closed = true;
      for (const w of waiters.splice(0)) w();
      try {
        messages?.stop();
      } catch {
        // already stopped
      }
      if (nc) await nc.close().catch(() => undefined);
    },
  };
}
