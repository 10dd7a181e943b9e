/**
 * When decisions end: one timer for the earliest expiry over a binary min-heap
 * of (time, key, id), instead of one timer per decision (a batch of 2000
 * decisions armed and cleared 2000 timers). Superseded or lifted decisions are
 * not removed from the heap; the owner's `due` callback checks the decision is
 * still the one in force when its entry comes up (lazy deletion).
 */

const MAX_TIMER_MS = 2 ** 31 - 1;

interface Entry {
  at: number;
  key: string;
  id: string;
}

export class ExpiryQueue {
  readonly #heap: Entry[] = [];
  readonly #due: (key: string, id: string) => void;
  #timer: NodeJS.Timeout | null = null;
  #timerAt = Infinity;
  #closed = false;

  /** `due(key, id)` is called once the decision `id` for `key` reached its expiry time. */
  constructor(due: (key: string, id: string) => void) {
    this.#due = due;
  }

  get size(): number {
    return this.#heap.length;
  }

  add(key: string, id: string, at: number): void {
    if (this.#closed) return;
    const h = this.#heap;
    h.push({ at, key, id });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p].at <= h[i].at) break;
      [h[p], h[i]] = [h[i], h[p]];
      i = p;
    }
    if (at < this.#timerAt) this.#schedule();
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#heap.length = 0;
  }

  #pop(): Entry {
    const h = this.#heap;
    const top = h[0];
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && h[l].at < h[m].at) m = l;
        if (r < h.length && h[r].at < h[m].at) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i], h[m]];
        i = m;
      }
    }
    return top;
  }

  #schedule(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = Infinity;
    if (this.#closed || this.#heap.length === 0) return;
    const at = this.#heap[0].at;
    const t = setTimeout(() => this.#fire(), Math.max(0, Math.min(at - Date.now(), MAX_TIMER_MS)));
    t.unref();
    this.#timer = t;
    this.#timerAt = at;
  }

  #fire(): void {
    this.#timer = null;
    this.#timerAt = Infinity;
    const now = Date.now();
    const due: Entry[] = [];
    while (this.#heap.length && this.#heap[0].at <= now) due.push(this.#pop());
    this.#schedule();
    for (const e of due) this.#due(e.key, e.id);
  }
}
