// Real TCP peers for the proxy tests: an echo server and a client that records what happens.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';

export interface Echo {
  port: number;
  /** Bytes the server received (and echoed). */
  received(): number;
  /** Closes the server and every connection it has. */
  close(): Promise<void>;
  sockets: Set<Socket>;
}

/** An echo server on loopback; `closeAfter` makes it end each connection after echoing that many bytes. */
export async function startEcho(opts: { closeAfter?: number } = {}): Promise<Echo> {
  let received = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer({ allowHalfOpen: false }, (s) => {
    sockets.add(s);
    s.setNoDelay(true);
    let mine = 0;
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
    s.on('data', (d) => {
      received += d.length;
      mine += d.length;
      s.write(d);
      if (opts.closeAfter !== undefined && mine >= opts.closeAfter) s.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    sockets,
    received: () => received,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

export interface Client {
  socket: Socket;
  data(): Buffer;
  chunks(): number;
  ended(): boolean;
  closed(): boolean;
  error(): string | undefined;
  /** performance.now() of the first byte received, if any. */
  firstByteAt(): number | undefined;
  lastByteAt(): number | undefined;
  endedAt(): number | undefined;
}

export async function connectClient(port: number, host = '127.0.0.1'): Promise<Client> {
  const socket = connect({ port, host, noDelay: true });
  const parts: Buffer[] = [];
  let size = 0;
  let ended = false;
  let closed = false;
  let error: string | undefined;
  let first: number | undefined;
  let last: number | undefined;
  let endedAt: number | undefined;
  socket.on('data', (d: Buffer) => {
    parts.push(d);
    size += d.length;
    first ??= performance.now();
    last = performance.now();
  });
  socket.on('end', () => {
    ended = true;
    endedAt = performance.now();
  });
  socket.on('error', (e: NodeJS.ErrnoException) => {
    error = e.code ?? e.message;
  });
  socket.on('close', () => {
    closed = true;
    endedAt ??= performance.now();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return {
    socket,
    data: () => Buffer.concat(parts, size),
    chunks: () => parts.length,
    ended: () => ended,
    closed: () => closed,
    error: () => error,
    firstByteAt: () => first,
    lastByteAt: () => last,
    endedAt: () => endedAt,
  };
}

/** Polls until `cond` holds; fails with `what` after the deadline. */
export async function waitFor(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Whether anything listens on TCP `port` (IPv4 or IPv6), read from /proc/net/tcp{,6}. */
export function listening(port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 3 && cols[1].endsWith(`:${hex}`) && cols[3] === '0A') return true;
    }
  }
  return false;
}

/** Resolves with the error code when connecting fails (e.g. ECONNREFUSED), or 'connected'. */
export function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

export function portOf(hostPort: string): number {
  return Number(hostPort.slice(hostPort.lastIndexOf(':') + 1));
}
