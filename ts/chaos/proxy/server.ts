/**
 * Toxiproxy's HTTP control API (v2) over our proxies, so Toxiproxy's clients
 * (toxiproxy-node-client, toxiproxy-ruby, toxiproxy-go, toxiproxy-cli) drive
 * it unchanged. Same routes, JSON shapes, status codes and error body
 * (`{"error": ..., "status": ...}`) as Toxiproxy 2.x.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { z } from 'zod';
import { ErrorCodes, OmniError } from '../../errors.js';
import { loggerFor, type Logger } from '../../logger.js';
import { parseOptions } from '../../validate.js';
import { formatHostPort, parseHostPort } from './address.js';
import { Proxy, type ProxyInfo } from './proxy.js';

export interface ToxiproxyServerOptions {
  /** 'host:port' of the HTTP API. Default '127.0.0.1:8474' (Toxiproxy's port, loopback only). */
  listen?: string;
  logger?: Logger;
}

export const API_VERSION = 'omnitide-toxiproxy-2';
const MAX_BODY = 1 << 20;

const OPTIONS = z.strictObject({
  listen: z.string().default('127.0.0.1:8474'),
  logger: z.custom<Logger>((v) => typeof v === 'object' && v !== null, { message: 'expected a pino logger' }).optional(),
});

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const notFound = (what: 'proxy' | 'toxic') => new ApiError(404, `${what} not found`);

/** An OmniError from validation is the client's fault (400); a listen failure is the server's (500, as Toxiproxy). */
function statusOf(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof OmniError && err.code === ErrorCodes.INVALID_ARGUMENT) return new ApiError(400, err.message);
  return new ApiError(500, err instanceof Error ? err.message : String(err));
}

interface ProxyBody {
  name?: unknown;
  listen?: unknown;
  upstream?: unknown;
  enabled?: unknown;
}

export class ToxiproxyServer {
  private readonly proxyMap = new Map<string, Proxy>();
  private closed = false;
  /** Serialises mutations: every API call sees the previous one finished (Toxiproxy holds locks the same way). */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly http: Server,
    readonly listen: string,
    private readonly log: Logger,
    private readonly logger: Logger | undefined,
  ) {}

  static async start(options: ToxiproxyServerOptions = {}): Promise<ToxiproxyServer> {
    const o = parseOptions('options', OPTIONS, options);
    const { host, port } = parseHostPort('options.listen', o.listen, 0);
    const log = loggerFor('chaos.toxiproxy', o.logger);
    let self: ToxiproxyServer | undefined;
    const http = createServer((req, res) => void self!.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      http.once('error', (err: NodeJS.ErrnoException) =>
        reject(new OmniError(ErrorCodes.IO, `options.listen: ${o.listen} ${err.code === 'EADDRINUSE' ? 'is already in use' : `cannot be listened on (${err.code ?? err.message})`}`, { cause: err })),
      );
      http.listen({ host, port, exclusive: true }, () => resolve());
    });
    const a = http.address();
    const listen = a && typeof a === 'object' ? formatHostPort(a.address, a.port) : o.listen;
    self = new ToxiproxyServer(http, listen, log, o.logger);
    log.info({ listen }, 'toxiproxy API listening');
    return self;
  }

  /** The API's base URL, e.g. for `new Toxiproxy(server.url)`. */
  get url(): string {
    return `http://${this.listen}`;
  }

  proxies(): Proxy[] {
    return [...this.proxyMap.values()];
  }

  proxy(name: string): Proxy | undefined {
    return this.proxyMap.get(name);
  }

  /** Stops the API and closes every proxy and its connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const done = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeAllConnections();
    await Promise.all(this.proxies().map((p) => p.close()));
    this.proxyMap.clear();
    await done;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      // As Toxiproxy: refuse browsers, so a web page cannot drive the API (CSRF).
      if ((req.headers['user-agent'] ?? '').startsWith('Mozilla/')) throw new ApiError(403, 'User agent not allowed');
      const body = await readBody(req);
      const run = this.queue.then(() => this.route(req.method ?? 'GET', new URL(req.url ?? '/', 'http://x').pathname, body));
      this.queue = run.catch(() => {});
      const [status, payload] = await run;
      send(res, status, payload);
    } catch (err) {
      const e = statusOf(err);
      if (e.status >= 500) this.log.warn({ err }, 'API request failed');
      send(res, e.status, { error: e.message, status: e.status });
    }
  }

  private async route(method: string, path: string, raw: string): Promise<[number, unknown]> {
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    const json = () => parseJson(raw);
    const update = method === 'POST' || method === 'PATCH';
    if (parts[0] === 'version' && parts.length === 1 && method === 'GET') return [200, { version: API_VERSION }];
    if (parts[0] === 'reset' && parts.length === 1 && method === 'POST') {
      await this.reset();
      return [204, undefined];
    }
    if (parts[0] === 'populate' && parts.length === 1 && method === 'POST') return [201, { proxies: await this.populate(json()) }];
    if (parts[0] === 'reset' && parts.length === 1) throw new ApiError(405, 'method not allowed');
    if (parts[0] !== 'proxies') throw new ApiError(404, '404 page not found');

    if (parts.length === 1) {
      if (method === 'GET') return [200, Object.fromEntries(this.proxies().map((p) => [p.name, p.info()]))];
      if (method === 'POST') return [201, (await this.create(json())).info()];
    }
    const proxy = parts.length >= 2 ? this.proxyMap.get(parts[1]) : undefined;
    if (parts.length === 2) {
      if (method === 'GET') return [200, this.need(proxy).info()];
      if (update) return [200, await this.updateProxy(this.need(proxy), json())];
      if (method === 'DELETE') {
        const p = this.need(proxy);
        this.proxyMap.delete(p.name);
        await p.close();
        return [204, undefined];
      }
    }
    if (parts.length === 3 && parts[2] === 'toxics') {
      if (method === 'GET') return [200, this.need(proxy).toxics()];
      if (method === 'POST') {
        const p = this.need(proxy);
        // Known fields only: Toxiproxy ignores others (our library API is strict).
        const body = pick(json(), ['name', 'type', 'stream', 'toxicity', 'attributes']);
        const name = body.name ?? `${String(body.type)}_${String(body.stream ?? 'downstream')}`;
        if (typeof name === 'string' && p.toxic(name)) throw new ApiError(409, 'toxic already exists');
        return [200, p.addToxic(body as never)];
      }
    }
    if (parts.length === 4 && parts[2] === 'toxics') {
      const p = this.need(proxy);
      const toxic = p.toxic(parts[3]);
      if (!toxic) throw notFound('toxic');
      if (method === 'GET') return [200, toxic];
      if (update) return [200, p.updateToxic(toxic.name, pick(json(), ['toxicity', 'attributes']) as never)];
      if (method === 'DELETE') {
        p.removeToxic(toxic.name);
        return [204, undefined];
      }
    }
    throw new ApiError(405, 'method not allowed');
  }

  private need(p: Proxy | undefined): Proxy {
    if (!p) throw notFound('proxy');
    return p;
  }

  /** POST /reset: every proxy enabled, every toxic removed. */
  private async reset(): Promise<void> {
    for (const p of this.proxies()) {
      p.resetToxics();
      if (!p.enabled) await p.update({ enabled: true });
    }
  }

  private async create(body: unknown): Promise<Proxy> {
    const b = (body ?? {}) as ProxyBody;
    if (typeof b.name !== 'string' || b.name === '') throw new ApiError(400, 'missing required field: name');
    if (typeof b.upstream !== 'string' || b.upstream === '') throw new ApiError(400, 'missing required field: upstream');
    if (this.proxyMap.has(b.name)) throw new ApiError(409, 'proxy already exists');
    const p = await Proxy.start({
      name: b.name,
      // Toxiproxy's empty listen means every interface; ours stays on loopback unless asked.
      listen: b.listen === undefined || b.listen === '' ? '127.0.0.1:0' : (b.listen as string),
      upstream: b.upstream,
      enabled: b.enabled === undefined ? true : (b.enabled as boolean),
      ...(this.logger ? { logger: this.logger } : {}),
    });
    this.proxyMap.set(p.name, p);
    return p;
  }

  private async updateProxy(p: Proxy, body: unknown): Promise<ProxyInfo> {
    const b = (body ?? {}) as ProxyBody;
    return p.update({
      ...(b.enabled !== undefined ? { enabled: b.enabled as boolean } : {}),
      ...(b.upstream !== undefined ? { upstream: b.upstream as string } : {}),
      ...(b.listen !== undefined && b.listen !== p.listen ? { listen: b.listen as string } : {}),
    });
  }

  /** POST /populate: create, or replace when listen/upstream differ; unchanged proxies are left alone. */
  private async populate(body: unknown): Promise<ProxyInfo[]> {
    if (!Array.isArray(body)) throw new ApiError(400, 'bad request body: expected an array of proxies');
    body.forEach((b: ProxyBody, i) => {
      if (typeof b?.name !== 'string' || b.name === '') throw new ApiError(400, `missing required field: name at proxy ${i + 1}`);
      if (typeof b.upstream !== 'string' || b.upstream === '') throw new ApiError(400, `missing required field: upstream at proxy ${i + 1}`);
    });
    const out: ProxyInfo[] = [];
    for (const b of body as ProxyBody[]) {
      const existing = this.proxyMap.get(b.name as string);
      if (existing && existing.upstream === b.upstream && (b.listen === undefined || b.listen === existing.listen)) {
        out.push(existing.info());
        continue;
      }
      if (existing) {
        this.proxyMap.delete(existing.name);
        await existing.close();
      }
      out.push((await this.create(b)).info());
    }
    return out;
  }
}

function pick(body: unknown, keys: string[]): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ApiError(400, 'bad request body: expected a JSON object');
  const out: Record<string, unknown> = {};
  for (const k of keys) if ((body as Record<string, unknown>)[k] !== undefined) out[k] = (body as Record<string, unknown>)[k];
  return out;
}

function parseJson(raw: string): unknown {
  try {
    return raw === '' ? {} : JSON.parse(raw);
  } catch (err) {
    throw new ApiError(400, `bad request body: ${(err as Error).message}`);
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (d: Buffer) => {
      size += d.length;
      if (size > MAX_BODY) {
        reject(new ApiError(413, 'request body too large'));
        req.destroy();
      } else parts.push(d);
    });
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, payload: unknown): void {
  if (res.headersSent) return;
  if (payload === undefined) {
    res.writeHead(status).end();
    return;
  }
  const body = JSON.stringify(payload);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }).end(body);
}
