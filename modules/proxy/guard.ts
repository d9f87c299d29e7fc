// The proxy's connection caps and deadlines (docs/cluster.md, "proxy"): the listener's HttpGuard
// (cheshire/sdk) set from this version's config; refusals and time-outs go to the log as typed
// CHS_ERR_PROXY_* lines, one per reason at most once a minute.
import type net from 'node:net';
import { httpGuard, type HttpGuard, type ModuleContext } from 'cheshire/sdk';
import { proxyError, type ProxyErrorCode } from './errors.ts';

export interface GuardConfig {
  headTimeoutMs: number;
  bodyTimeoutMs: number;
  idleTimeoutMs: number;
  maxConnections: number;
  maxPerAddress: number;
  operatorReserve: number;
}

export function proxyGuard(ctx: ModuleContext<any>, server: net.Server, c: GuardConfig): HttpGuard<ProxyErrorCode> {
  return httpGuard<ProxyErrorCode>(server, {
    limits: {
      headTimeoutMs: c.headTimeoutMs,
      bodyTimeoutMs: c.bodyTimeoutMs,
      idleTimeoutMs: c.idleTimeoutMs,
      // after our side closed, the client has this long to close its own (more while it still reads)
      lingerMs: Math.min(c.headTimeoutMs, 5000),
      maxConnections: c.maxConnections,
      maxPerAddress: c.maxPerAddress,
      operatorReserve: Math.min(c.operatorReserve, c.maxConnections),
    },
    refusedCode: 'CHS_ERR_PROXY_REFUSED',
    log: (code, message) => ctx.log.warn({ code }, proxyError(code, `${ctx.id}: ${message}`).message),
  });
}
