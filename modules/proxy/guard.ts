// The proxy's connection caps and deadlines (docs/cluster.md, "proxy"): the listener's HttpGuard
// (cheshire/sdk) set from this version's config; refusals and time-outs go to the log as typed
// CHS_ERR_PROXY_* lines, one per reason at most once a minute.
import type net from 'node:net';
import { guardLimits, httpGuard, type HttpGuard, type HttpLimitsConfig, type ModuleContext } from 'cheshire/sdk';
import { proxyError, type ProxyErrorCode } from './errors.ts';

export type GuardConfig = HttpLimitsConfig;

export function proxyGuard(ctx: ModuleContext<any>, server: net.Server, c: GuardConfig): HttpGuard<ProxyErrorCode> {
  return httpGuard<ProxyErrorCode>(server, {
    limits: guardLimits(c),
    refusedCode: 'CHS_ERR_PROXY_REFUSED',
    log: (code, message) => ctx.log.warn({ code }, proxyError(code, `${ctx.id}: ${message}`).message),
  });
}
