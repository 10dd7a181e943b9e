/**
 * A Toxiproxy-compatible TCP proxy in the process (node:net): listens, dials
 * the upstream for each client, and runs the proxy's toxics on every
 * connection, including connections that were open when a toxic was added.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { z } from 'zod';
import { ErrorCodes, invalidArgument, OmniError } from '../../errors.js';
import { loggerFor, type Logger } from '../../logger.js';
import { parseOptions } from '../../validate.js';
import { formatHostPort, parseHostPort } from './address.js';
import { Connection } from './connection.js';
import { NAME, parseToxic, parseToxicUpdate, toxicName, type AddToxicOptions, type ToxicInfo } from './toxics.js';

export interface ProxyOptions {
  /** Unique within a ToxiproxyServer; used in logs and the HTTP API. */
  name: string;
  /** 'host:port' to listen on; port 0 picks a free port (read `proxy.listen` for it). */
  listen: string;
  /** 'host:port' every client is connected to (resolved at each connect, as Toxiproxy). */
  upstream: string;
  /** false: created but not listening (Toxiproxy's "down"). Default true. */
  enabled?: boolean;
  logger?: Logger;
}

export interface ProxyUpdate {
  enabled?: boolean;
  /** A new upstream drops the open connections (as Toxiproxy). */
  upstream?: string;
  /** A new listen address drops the open connections and listens there. */
  listen?: string;
}

/** The proxy as Toxiproxy's API shows it. */
export interface ProxyInfo {
  name: string;
  listen: string;
  upstream: string;
  enabled: boolean;
  toxics: ToxicInfo[];
}

const OPTIONS = z.strictObject({
  name: NAME,
  listen: z.string(),
  upstream: z.string(),
  enabled: z.boolean().default(true),
  logger: z.custom<Logger>((v) => typeof v === 'object' && v !== null && typeof (v as Logger).child === 'function', { message: 'expected a pino logger' }).optional(),
});

const UPDATE = z.strictObject({ enabled: z.boolean().optional(), upstream: z.string().optional(), listen: z.string().optional() });

const copy = (t: ToxicInfo): ToxicInfo => ({ ...t, attributes: { ...t.attributes } });

export class Proxy {
  readonly name: string;
  private listenAddr: string;
  private upstreamAddr: string;
  private upstreamHP: { host: string; port: number };
  private server: Server | null = null;
  private readonly conns = new Set<Connection>();
  /** Clients accepted while their upstream is being dialled. */
  private readonly dialling = new Set<Socket>();
  /** Insertion order is chain order (per stream), as in Toxiproxy. */
  private readonly toxicList = new Map<string, ToxicInfo>();
  private closed = false;
  private readonly log: Logger;

  private constructor(name: string, listen: string, upstream: string, log: Logger) {
    this.name = name;
    this.listenAddr = listen;
    this.upstreamAddr = upstream;
    this.upstreamHP = parseHostPort('upstream', upstream, 1);
    this.log = log;
  }

  /** Validates everything, then listens (unless `enabled: false`). */
  static async start(options: ProxyOptions): Promise<Proxy> {
    const o = parseOptions('options', OPTIONS, options);
    parseHostPort('options.listen', o.listen, 0);
    parseHostPort('options.upstream', o.upstream, 1);
    const p = new Proxy(o.name, o.listen, o.upstream, loggerFor('chaos.proxy', o.logger).child({ proxy: o.name }));
    if (o.enabled) await p.startListening();
    return p;
  }

  /** The actual 'host:port' (the chosen port when it was 0). */
  get listen(): string {
    return this.listenAddr;
  }

  get upstream(): string {
    return this.upstreamAddr;
  }

  get enabled(): boolean {
    return this.server !== null;
  }

  /** Open proxied connections. */
  get connections(): number {
    return this.conns.size;
  }

  info(): ProxyInfo {
    return { name: this.name, listen: this.listen, upstream: this.upstream, enabled: this.enabled, toxics: this.toxics() };
  }

  toxics(): ToxicInfo[] {
    return [...this.toxicList.values()].map(copy);
  }

  toxic(name: string): ToxicInfo | undefined {
    const t = this.toxicList.get(name);
    return t && copy(t);
  }

  /** Adds a toxic to new connections and to the open ones. Returns it with its defaults filled. */
  addToxic(options: AddToxicOptions): ToxicInfo {
    this.assertOpen();
    const t = parseToxic('toxic', options);
    if (this.toxicList.has(t.name)) throw invalidArgument('toxic.name', `a toxic named ${JSON.stringify(t.name)} already exists on proxy ${JSON.stringify(this.name)}`);
    this.toxicList.set(t.name, t);
    for (const c of this.conns) c.addToxic(t);
    this.log.info({ toxic: t }, 'toxic added');
    return copy(t);
  }

  /** Changes a toxic's attributes (merged over the old ones) and/or toxicity, on open connections too. */
  updateToxic(name: string, update: { toxicity?: number; attributes?: Record<string, number> }): ToxicInfo {
    this.assertOpen();
    const t = this.lookup(name);
    const u = parseToxicUpdate('update', t, update);
    t.attributes = u.attributes;
    if (u.toxicity !== t.toxicity) {
      t.toxicity = u.toxicity;
      for (const c of this.conns) c.rerollToxic(t);
    }
    return copy(t);
  }

  /** Removes a toxic; data it was holding is passed on (a timeout toxic closes the connections it held). */
  removeToxic(name: string): void {
    this.assertOpen();
    const t = this.lookup(name);
    this.toxicList.delete(name);
    for (const c of this.conns) c.removeToxic(t);
    this.log.info({ toxic: name }, 'toxic removed');
  }

  /** Removes every toxic. */
  resetToxics(): void {
    for (const name of [...this.toxicList.keys()]) this.removeToxic(name);
  }

  /** Enables/disables, or moves the upstream or listen address (which drops open connections). */
  async update(update: ProxyUpdate): Promise<ProxyInfo> {
    this.assertOpen();
    const u = parseOptions('update', UPDATE, update);
    const upstream = u.upstream !== undefined ? parseHostPort('update.upstream', u.upstream, 1) : this.upstreamHP;
    if (u.listen !== undefined) parseHostPort('update.listen', u.listen, 0);
    const moved = (u.upstream !== undefined && u.upstream !== this.upstreamAddr) || (u.listen !== undefined && u.listen !== this.listenAddr);
    const enable = u.enabled ?? this.enabled;
    if (moved || !enable) await this.stopListening();
    if (u.upstream !== undefined) {
      this.upstreamAddr = u.upstream;
      this.upstreamHP = upstream;
    }
    if (u.listen !== undefined) this.listenAddr = u.listen;
    if (enable && !this.enabled) await this.startListening();
    return this.info();
  }

  /** Stops listening and closes every connection. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.stopListening();
  }

  private lookup(name: string): ToxicInfo {
    const t = this.toxicList.get(toxicName('name', name));
    if (!t) throw invalidArgument('name', `no toxic named ${JSON.stringify(name)} on proxy ${JSON.stringify(this.name)}`);
    return t;
  }

  private assertOpen(): void {
    if (this.closed) throw new OmniError(ErrorCodes.CLOSED, `proxy ${JSON.stringify(this.name)} is closed`);
  }

  private async startListening(): Promise<void> {
    const { host, port } = parseHostPort('listen', this.listenAddr, 0);
    // pauseOnConnect: nothing is read from a client before its upstream is connected.
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        const why = err.code === 'EADDRINUSE' ? 'is already in use' : err.code === 'EADDRNOTAVAIL' ? 'is not an address of this host' : `cannot be listened on (${err.code ?? err.message})`;
        reject(new OmniError(ErrorCodes.IO, `listen: ${this.listenAddr} ${why}`, { cause: err }));
      });
      server.listen({ host, port, exclusive: true }, () => resolve());
    });
    server.on('error', (err) => this.log.warn({ err }, 'listener error'));
    const a = server.address();
    if (a && typeof a === 'object') this.listenAddr = formatHostPort(a.address, a.port);
    this.server = server;
    this.log.info({ listen: this.listenAddr, upstream: this.upstreamAddr }, 'proxy listening');
  }

  private async stopListening(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    const done = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.dialling) s.destroy();
    this.dialling.clear();
    for (const c of this.conns) c.destroy();
    await done;
  }

  private accept(client: Socket): void {
    const server = this.server;
    client.on('error', () => {}); // reported through 'close'; a client may reset at any time
    client.setNoDelay(true);
    this.dialling.add(client);
    const { host, port } = this.upstreamHP;
    const upstream = createConnection({ host, port, allowHalfOpen: true, noDelay: true });
    upstream.on('error', () => {});
    const abandon = () => {
      this.dialling.delete(client);
      client.destroy();
      upstream.destroy();
    };
    upstream.once('error', (err) => {
      if (!this.dialling.has(client)) return;
      this.log.warn({ err, upstream: this.upstreamAddr }, 'cannot connect to upstream; closing the client');
      abandon();
    });
    client.once('close', () => {
      if (this.dialling.has(client)) abandon();
    });
    upstream.once('connect', () => {
      if (!this.dialling.delete(client) || this.server !== server) return abandon();
      const conn = new Connection(client, upstream, [...this.toxicList.values()], (c) => this.conns.delete(c), (err) =>
        this.log.error({ err }, 'toxic failed; connection closed'),
      );
      this.conns.add(conn);
    });
  }
}
