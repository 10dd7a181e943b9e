/**
 * A stage boundary over NATS JetStream: `toNats` publishes batches to
 * `<subject>.<partition>` (partition = hash(key) mod partitions, so one key
 * always lands in one partition and keeps its order), `fromNats` reads chosen
 * partitions through durable pull consumers. Two processes (or hosts) then
 * run the two halves of a pipeline. Publishing awaits JetStream's ack (the
 * broker's backpressure); a message is acked only after the consuming
 * pipeline has processed it (at-least-once; `Nats-Msg-Id` de-duplicates
 * republished batches). Bounded runs end with an end-of-stream marker per
 * partition from each producer.
 */
import { AckPolicy, connect, DeliverPolicy, headers, type ConsumerMessages, type JsMsg, type NatsConnection } from 'nats';
import { z } from 'zod';
import { invalidArgument } from '../errors.js';
import { parseOptions } from '../validate.js';
import type { Sink } from './sinks.js';
import type { Source } from './sources.js';
import { partitionOf } from './partition.js';

export { partitionOf };

const EOS = 'Omni-Pipeline-Eos';

const common = {
  servers: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  stream: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only'),
  subject: z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'dot-separated tokens without wildcards'),
  partitions: z.number().int().min(1).max(1024),
};

const sinkSchema = z.strictObject({ ...common, key: z.union([z.string(), z.function()]), producerId: z.string().regex(/^[\w-]+$/).optional() });
const sourceSchema = z.strictObject({ ...common, durable: z.string().regex(/^[\w-]+$/), read: z.array(z.number().int().min(0)).optional(), producers: z.number().int().min(1).optional() });

export interface NatsSinkOptions<T> {
  servers: string | string[];
  stream: string;
  subject: string;
  partitions: number;
  /** Field name or function giving the partitioning key. */
  key: (keyof T & string) | ((record: T) => unknown);
  /** Identifies this producer in message ids (default: pid-based). */
  producerId?: string;
}

export interface NatsSourceOptions {
  servers: string | string[];
  stream: string;
  subject: string;
  partitions: number;
  /** Durable consumer name prefix (one consumer per partition). */
  durable: string;
  /** Partitions this process reads (default: all). */
  read?: number[];
  /** Producers whose end-of-stream markers end the source (default 1). */
  producers?: number;
}


async function ensureStream(nc: NatsConnection, stream: string, subject: string): Promise<void> {
  const jsm = await nc.jetstreamManager();
  try {
    await jsm.streams.info(stream);
  } catch {
    try {
      await jsm.streams.add({ name: stream, subjects: [`${subject}.*`], duplicate_window: 120e9 });
    } catch (err) {
      // Another process created it first.
      await jsm.streams.info(stream).catch(() => {
        throw err;
      });
    }
  }
}

export function toNats<T>(options: NatsSinkOptions<T>): Sink<T> {
  const o = parseOptions('options', sinkSchema, options);
  const keyOf = typeof o.key === 'function' ? (o.key as (r: T) => unknown) : (r: T) => (r as Record<string, unknown>)[o.key as string];
  const producer = o.producerId ?? `p${process.pid}-${Date.now().toString(36)}`;
  let nc: NatsConnection | null = null;
  let seq = 0;
  const enc = new TextEncoder();
  async function conn() {
    if (!nc) {
      nc = await connect({ servers: o.servers, name: `omnitide-pipeline-${producer}` });
      await ensureStream(nc, o.stream, o.subject);
    }
    return nc.jetstream();
  }
  return {
    describe: `nats ${o.subject}.* (${o.partitions} partitions)`,
    async write(batch) {
      const js = await conn();
      const parts = new Map<number, T[]>();
      for (const r of batch) {
        const p = partitionOf(keyOf(r), o.partitions);
        if (!parts.has(p)) parts.set(p, []);
        parts.get(p)!.push(r);
      }
      for (const [p, recs] of parts) {
        const h = headers();
        h.set('Nats-Msg-Id', `${producer}-${++seq}`);
        await js.publish(`${o.subject}.${p}`, enc.encode(JSON.stringify(recs)), { headers: h });
      }
    },
    async close() {
      const js = await conn();
      for (let p = 0; p < o.partitions; p++) {
        const h = headers();
        h.set(EOS, producer);
        h.set('Nats-Msg-Id', `${producer}-eos-${p}`);
        await js.publish(`${o.subject}.${p}`, new Uint8Array(0), { headers: h });
      }
      await nc!.drain();
      nc = null;
    },
  };
}

export function fromNats(options: NatsSourceOptions): Source<unknown> {
  const o = parseOptions('options', sourceSchema, options);
  const read = o.read ?? Array.from({ length: o.partitions }, (_, i) => i);
  for (const p of read) if (p >= o.partitions) throw invalidArgument('options.read', `partition ${p} is not below partitions ${o.partitions}`);
  return {
    describe: `nats ${o.subject}.{${read.join(',')}}`,
    replayable: false,
    async *open() {
      const nc = await connect({ servers: o.servers, name: `omnitide-pipeline-${o.durable}` });
      const iters: Array<{ p: number; msgs: ConsumerMessages; it: AsyncIterator<JsMsg>; eos: number }> = [];
      try {
        await ensureStream(nc, o.stream, o.subject);
        const jsm = await nc.jetstreamManager();
        const js = nc.jetstream();
        for (const p of read) {
          const durable = `${o.durable}-${p}`;
          try {
            await jsm.consumers.info(o.stream, durable);
          } catch {
            await jsm.consumers.add(o.stream, { durable_name: durable, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, filter_subject: `${o.subject}.${p}` });
          }
          const msgs = await (await js.consumers.get(o.stream, durable)).consume({ max_messages: 16 });
          iters.push({ p, msgs, it: msgs[Symbol.asyncIterator](), eos: 0 });
        }
        const producers = o.producers ?? 1;
        const pending = new Map<number, Promise<{ i: number; r: IteratorResult<JsMsg> }>>();
        const pull = (i: number) => pending.set(i, iters[i].it.next().then((r) => ({ i, r })));
        iters.forEach((_, i) => pull(i));
        while (pending.size > 0) {
          const { i, r } = await Promise.race(pending.values());
          pending.delete(i);
          if (r.done) continue;
          const m = r.value;
          if (m.headers?.get(EOS)) {
            m.ack();
            if (++iters[i].eos >= producers) continue;
            pull(i);
            continue;
          }
          let records: unknown[];
          try {
            records = JSON.parse(new TextDecoder().decode(m.data)) as unknown[];
          } catch (err) {
            m.ack();
            yield { records: [], malformed: [{ stage: 'source', reason: `malformed NATS message on ${m.subject}: ${(err as Error).message}`, record: m.seq }] };
            pull(i);
            continue;
          }
          yield { records };
          // Resumed: the chunk went through the pipeline.
          m.ack();
          pull(i);
        }
      } finally {
        for (const x of iters) x.msgs.stop();
        await nc.drain().catch(() => undefined);
      }
    },
  };
}
