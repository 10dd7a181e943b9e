/**
 * One proxied TCP connection: the client socket, the upstream socket and the
 * two links between them (upstream = client -> server, downstream = server ->
 * client). Natural EOF is passed on as a half-close; a toxic that closes the
 * stream closes the whole connection once both links have flushed (as
 * Toxiproxy closes its sockets); reset_peer resets both sockets (TCP RST).
 */
import type { Socket } from 'node:net';
import { Link } from './link.js';
import type { EndKind, ToxicInfo, ToxicStream } from './toxics.js';

// A link stops reading its source while this many bytes are inside its toxics
// (e.g. held by latency or bandwidth), so a slow toxic pushes back on the sender.
const HIGH_WATER = 1 << 20;
const LOW_WATER = HIGH_WATER >> 1;

export class Connection {
  readonly links: Record<ToxicStream, Link>;
  private readonly inputEnded = { upstream: false, downstream: false };
  private gone = false;

  constructor(
    private readonly client: Socket,
    private readonly server: Socket,
    toxics: ToxicInfo[],
    private readonly onGone: (c: Connection) => void,
    onError: (err: unknown) => void,
  ) {
    const fail = (err: unknown) => {
      onError(err);
      this.destroy();
    };
    this.links = {
      upstream: this.makeLink('upstream', client, server, toxics, fail),
      downstream: this.makeLink('downstream', server, client, toxics, fail),
    };
    let closed = 0;
    const onClose = () => {
      if (++closed === 2) this.finish();
    };
    client.on('close', onClose);
    server.on('close', onClose);
    client.resume();
  }

  private makeLink(dir: ToxicStream, src: Socket, dst: Socket, toxics: ToxicInfo[], fail: (err: unknown) => void): Link {
    let paused = false;
    const relieve = () => {
      if (paused && link.inFlight <= LOW_WATER && !dst.writableNeedDrain) {
        paused = false;
        src.resume();
      }
    };
    const link: Link = new Link(
      {
        write: (data) => {
          if (!dst.destroyed && dst.writable) dst.write(data);
        },
        end: (kind) => this.endDirection(dir, dst, kind),
      },
      relieve,
      fail,
      toxics.filter((t) => t.stream === dir),
    );
    dst.on('drain', relieve);
    src.on('data', (data: Buffer) => {
      link.data(data);
      if (!paused && (link.inFlight > HIGH_WATER || dst.writableNeedDrain)) {
        paused = true;
        src.pause();
      }
    });
    src.on('end', () => this.endInput(dir, 'eof'));
    // An error or a close without EOF (the peer reset, or we destroyed it) ends the input as a close.
    src.on('error', () => this.endInput(dir, 'close'));
    src.on('close', () => this.endInput(dir, 'close'));
    return link;
  }

  private endInput(dir: ToxicStream, kind: EndKind): void {
    if (this.inputEnded[dir]) return;
    this.inputEnded[dir] = true;
    this.links[dir].input({ end: kind });
  }

  private endDirection(dir: ToxicStream, dst: Socket, kind: EndKind): void {
    if (kind === 'eof') {
      if (!dst.destroyed) dst.end();
    } else if (kind === 'reset') {
      this.reset();
    } else {
      // Close the destination after what was written, and stop reading it: the other link drains and closes its side.
      if (!dst.destroyed) dst.destroySoon();
      const other: ToxicStream = dir === 'upstream' ? 'downstream' : 'upstream';
      dst.pause();
      this.endInput(other, 'close');
    }
  }

  private reset(): void {
    this.links.upstream.kill();
    this.links.downstream.kill();
    for (const s of [this.client, this.server]) if (!s.destroyed) s.resetAndDestroy();
  }

  /** The proxy is closing or disabled: drop the connection now. */
  destroy(): void {
    this.links.upstream.kill();
    this.links.downstream.kill();
    this.client.destroy();
    this.server.destroy();
  }

  private finish(): void {
    if (this.gone) return;
    this.gone = true;
    this.links.upstream.kill();
    this.links.downstream.kill();
    this.onGone(this);
  }

  addToxic(t: ToxicInfo): void {
    this.links[t.stream].add(t);
  }

  removeToxic(t: ToxicInfo): void {
    this.links[t.stream].remove(t);
  }

  rerollToxic(t: ToxicInfo): void {
    this.links[t.stream].reroll(t);
  }
}
