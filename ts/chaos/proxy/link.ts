/**
 * One direction of one proxied connection: the chain of toxic stages its
 * chunks pass through, in the order the toxics were added (as Toxiproxy's
 * ToxicLink). With no toxics a chunk goes straight to the destination socket.
 * Toxics can be added to and removed from a running link; a removed toxic
 * passes on what it held (nothing is dropped on the floor).
 */
import { behaviourOf, type Behaviour, type Chunk, type EndKind, type ToxicContext, type ToxicInfo } from './toxics.js';

export type Item = { chunk: Chunk; end?: undefined } | { end: EndKind; chunk?: undefined };

interface Receiver {
  push(item: Item): void;
}

/** Thrown into a toxic's sleep when the toxic is removed or the connection closes. */
class Interrupted extends Error {}

export interface LinkOutput {
  write(data: Uint8Array): void;
  end(kind: EndKind): void;
}

class Stage implements Receiver {
  next: Receiver;
  active: boolean;
  private queue: Item[] = [];
  private current: Item | null = null;
  private running = false;
  private removed = false;
  /** This toxic ended the stream: what still arrives is dropped. */
  private closed = false;
  private sleeping: { timer: NodeJS.Timeout; reject: (e: Error) => void } | null = null;
  private timerHandle: NodeJS.Timeout | undefined;
  private readonly behaviour: Behaviour;
  private readonly ctx: ToxicContext;

  constructor(
    readonly toxic: ToxicInfo,
    private readonly link: Link,
    next: Receiver,
  ) {
    this.next = next;
    this.behaviour = behaviourOf(toxic.type);
    this.active = rollToxicity(toxic.toxicity);
    const stage = this;
    const state: Record<string, number> = {};
    this.ctx = {
      get attributes() {
        return toxic.attributes; // read live: an update applies to running connections
      },
      state,
      pending: null,
      emit: (data, ts) => {
        if (!this.removed && !this.closed) this.next.push({ chunk: { data, ts } });
      },
      end: (kind) => stage.endStream(kind),
      drop: (bytes) => link.release(bytes),
      sleep: (ms) => stage.sleep(ms),
      timer: (ms, fire) => {
        clearTimeout(stage.timerHandle);
        stage.timerHandle = setTimeout(() => {
          stage.timerHandle = undefined;
          if (!stage.removed && !stage.closed) fire();
        }, ms);
      },
    };
  }

  start(): void {
    if (this.active) this.behaviour.start?.(this.ctx);
  }

  /** Toxicity changed (an update): roll again for this connection, as Toxiproxy re-runs its stubs. */
  reroll(): void {
    const was = this.active;
    this.active = rollToxicity(this.toxic.toxicity);
    if (this.active && !was) this.behaviour.start?.(this.ctx);
    if (!this.active && was) clearTimeout(this.timerHandle);
  }

  push(item: Item): void {
    if (this.removed) return this.next.push(item);
    if (this.closed) {
      if (item.chunk) this.link.release(item.chunk.data.length);
      return;
    }
    if (!this.active && !this.running && this.queue.length === 0) return this.next.push(item);
    this.queue.push(item);
    if (!this.running) void this.run();
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0 && !this.removed && !this.closed) {
        const item = this.queue.shift()!;
        if (!this.active) {
          this.next.push(item);
          continue;
        }
        this.current = item;
        let r: Promise<void> | void;
        if (item.chunk) {
          this.ctx.pending = item.chunk.data;
          r = this.behaviour.chunk(item.chunk, this.ctx);
        } else {
          r = this.behaviour.end ? this.behaviour.end(item.end, this.ctx) : this.endStream(item.end);
        }
        if (r) await r;
        this.current = null;
        this.ctx.pending = null;
      }
    } catch (err) {
      if (!(err instanceof Interrupted)) this.link.fail(err);
    } finally {
      this.running = false;
    }
  }

  private endStream(kind: EndKind): void {
    if (this.removed || this.closed) return;
    this.closed = true;
    this.interrupt();
    for (const item of this.queue) if (item.chunk) this.link.release(item.chunk.data.length);
    if (this.ctx.pending) this.link.release(this.ctx.pending.length);
    this.queue = [];
    this.ctx.pending = null;
    this.current = null;
    this.next.push({ end: kind });
  }

  private sleep(ms: number): Promise<void> {
    if (this.removed || this.closed) return Promise.reject(new Interrupted());
    if (!(ms > 0)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.sleeping = {
        timer: setTimeout(() => {
          this.sleeping = null;
          resolve();
        }, ms),
        reject,
      };
    });
  }

  private interrupt(): void {
    clearTimeout(this.timerHandle);
    this.timerHandle = undefined;
    if (this.sleeping) {
      clearTimeout(this.sleeping.timer);
      this.sleeping.reject(new Interrupted());
      this.sleeping = null;
    }
  }

  /** The toxic was removed: hand on what it holds, in order, then step out of the chain. */
  remove(): void {
    if (this.removed) return;
    const wasClosed = this.closed;
    this.removed = true;
    this.interrupt();
    if (wasClosed) return;
    const pending = this.ctx.pending;
    const current = this.current;
    const queue = this.queue;
    this.queue = [];
    this.ctx.pending = null;
    this.current = null;
    if (this.active && this.behaviour.closesOnRemove) {
      // Toxiproxy's timeout toxic closes the connections it was holding when removed.
      let dropped = pending?.length ?? 0;
      for (const item of queue) if (item.chunk) dropped += item.chunk.data.length;
      this.link.release(dropped);
      this.next.push({ end: 'close' });
      return;
    }
    if (current?.chunk && pending && pending.length > 0) this.next.push({ chunk: { data: pending, ts: current.chunk.ts } });
    else if (current?.end) this.next.push(current);
    for (const item of queue) this.next.push(item);
  }

  /** The connection is gone: stop everything, pass nothing on. */
  kill(): void {
    this.removed = true;
    this.closed = true;
    this.interrupt();
    this.queue = [];
  }
}

function rollToxicity(toxicity: number): boolean {
  return toxicity >= 1 || Math.random() < toxicity;
}

export class Link {
  private stages: Stage[] = [];
  private head: Receiver;
  private readonly sink: Receiver;
  /** Bytes read from the source and not yet written or dropped (drives backpressure). */
  inFlight = 0;
  ended = false;

  constructor(
    private readonly out: LinkOutput,
    private readonly onRelease: () => void,
    readonly fail: (err: unknown) => void,
    toxics: ToxicInfo[],
  ) {
    this.sink = {
      push: (item) => {
        if (item.chunk) {
          this.release(item.chunk.data.length);
          if (!this.ended) out.write(item.chunk.data);
        } else if (!this.ended) {
          this.ended = true;
          out.end(item.end);
        }
      },
    };
    this.head = this.sink;
    for (const t of toxics) this.add(t);
  }

  /** Data from the source. With no toxics it goes straight out (no allocation, no clock read: the hot path). */
  data(data: Buffer): void {
    if (this.stages.length === 0) {
      if (!this.ended) this.out.write(data);
      return;
    }
    this.input({ chunk: { data, ts: performance.now() } });
  }

  input(item: Item): void {
    if (item.chunk) this.inFlight += item.chunk.data.length;
    this.head.push(item);
  }

  release(bytes: number): void {
    this.inFlight -= bytes;
    this.onRelease();
  }

  add(toxic: ToxicInfo): void {
    if (this.ended) return; // Toxiproxy: a toxic added to a closed link does nothing
    const stage = new Stage(toxic, this, this.sink);
    const last = this.stages.at(-1);
    if (last) last.next = stage;
    else this.head = stage;
    this.stages.push(stage);
    stage.start();
  }

  remove(toxic: ToxicInfo): void {
    const i = this.stages.findIndex((s) => s.toxic === toxic);
    if (i < 0) return;
    const stage = this.stages[i];
    this.stages.splice(i, 1);
    // Relink first: what the stage hands on below goes to its old successor directly.
    if (i === 0) this.head = stage.next;
    else this.stages[i - 1].next = stage.next;
    stage.remove();
  }

  reroll(toxic: ToxicInfo): void {
    this.stages.find((s) => s.toxic === toxic)?.reroll();
  }

  kill(): void {
    this.ended = true;
    for (const s of this.stages) s.kill();
  }
}
