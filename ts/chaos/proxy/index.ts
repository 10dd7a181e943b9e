/**
 * `omnitide/chaos` TCP fault proxy: Toxiproxy's toxics in the process
 * (`Proxy`), and Toxiproxy's HTTP API over them (`ToxiproxyServer`) so
 * existing Toxiproxy clients work unchanged. No root needed.
 */
export { Proxy, type ProxyInfo, type ProxyOptions, type ProxyUpdate } from './proxy.js';
export { ToxiproxyServer, API_VERSION, type ToxiproxyServerOptions } from './server.js';
export { TOXIC_TYPES, type AddToxicOptions, type ToxicInfo, type ToxicStream, type ToxicType } from './toxics.js';
