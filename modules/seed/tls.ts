// The seed's meta port speaks wss and ws on one port: the first byte of a connection says which
// (a TLS handshake record starts 0x16). TLS connections get the seed node's certificate and must
// present one (the node's key, which its introduction must then name); plaintext is taken only
// from loopback unless `plaintext` is set. Shared with seed-client (peerKey, the pinning check).
// The codes are the host's CHS_ERR_TLS_* (base/tls/errors.ts).
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { createSecureContext, TLSSocket } from 'node:tls';
import { CheshireError, isLoopback, normalizeAddress } from 'cheshire/sdk';

/** http's own 'connection' listeners, kept on the server across versions (the server is handed over). */
const HTTP_LISTENERS = Symbol.for('cheshire.seed.httpConnectionListeners');
type Listener = (socket: Socket) => void;

export interface MetaTls {
  credentials: { key: string; cert: string };
  /** Plaintext from any address (default only loopback). */
  plaintext: boolean;
  handshakeMs: number;
  log: { warn(msg: string): void };
  /** Which peer addresses are this machine (default loopback); tests narrow it. */
  isLocal?: (address: string) => boolean;
}

/** The raw ed25519 key (hex) of a TLS peer's certificate, or null. */
export function peerKey(socket: unknown): string | null {
  const t = socket as Partial<TLSSocket>;
  if (!t.encrypted || typeof t.getPeerX509Certificate !== 'function') return null;
  const key = t.getPeerX509Certificate()?.publicKey;
  if (!key || key.asymmetricKeyType !== 'ed25519') return null;
  return key.export({ format: 'der', type: 'spki' }).subarray(-32).toString('hex');
}

/** CHS_ERR_TLS_PEER_KEY naming who, the expected and the presented key. */
export function peerKeyError(who: string, expected: string, presented: string | null): CheshireError {
  return new CheshireError('CHS_ERR_TLS_PEER_KEY', `${who}: expected key ${expected}, the peer presented ${presented ? `key ${presented}` : 'no ed25519 certificate'}`);
}

/** Puts the TLS/plaintext sniff in front of `server`'s HTTP handling (again on every version). */
export function sniffMetaPort(server: Server, tls: MetaTls): void {
  const s = server as Server & { [HTTP_LISTENERS]?: Listener[] };
  s[HTTP_LISTENERS] ??= server.listeners('connection') as Listener[];
  const http = s[HTTP_LISTENERS];
  const context = createSecureContext({ key: tls.credentials.key, cert: tls.credentials.cert, minVersion: 'TLSv1.3' });
  const pass = (socket: Socket): void => { for (const fn of http) fn.call(server, socket); };
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    const addr = normalizeAddress(socket.remoteAddress);
    const timer = setTimeout(() => { tls.log.warn(`CHS_ERR_TLS_HANDSHAKE: ${addr} sent nothing (or no TLS handshake) within ${tls.handshakeMs} ms`); socket.destroy(); }, tls.handshakeMs);
    socket.once('close', () => clearTimeout(timer));
    socket.on('error', () => { /* 'close' follows */ });
    const onFirst = (chunk: Buffer): void => {
      socket.off('data', onFirst);
      socket.pause();
      socket.unshift(chunk);
      if (chunk[0] !== 0x16) {
        clearTimeout(timer);
        if (!tls.plaintext && !(tls.isLocal ?? isLoopback)(addr)) {
          tls.log.warn(`CHS_ERR_TLS_PLAINTEXT: refused plaintext from ${addr}: nodes on other machines must use wss (or set the seed's "plaintext": true)`);
          socket.destroy();
          return;
        }
        pass(socket);
        socket.resume();
        return;
      }
      const t = new TLSSocket(socket, { isServer: true, secureContext: context, requestCert: true, rejectUnauthorized: false });
      const onError = (err: Error): void => { tls.log.warn(`CHS_ERR_TLS_HANDSHAKE: ${addr}: ${err.message}`); t.destroy(); };
      t.on('error', onError);
      t.once('close', () => socket.destroy());
      t.once('secure', () => {
        clearTimeout(timer);
        if (!peerKey(t)) { tls.log.warn(`CHS_ERR_TLS_PEER_KEY: ${addr} presented no ed25519 certificate`); t.destroy(); return; }
        pass(t);
        t.off('error', onError); // from here on http's own handlers deal with the connection's errors
      });
    };
    socket.on('data', onFirst);
  });
}
