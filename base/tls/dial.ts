// The dialling side of a node-to-node link: TLS 1.3 with our certificate, the peer's key pinned.
import { connect, type TLSSocket } from 'node:tls';
import type { TlsCredentials } from './cert.ts';
import { checkPeer } from './pin.ts';
import { tlsError } from './errors.ts';

export interface TlsDial {
  /** Our certificate and key (the node identity's). */
  credentials: TlsCredentials;
  /** The ed25519 key (hex) the peer must present. */
  expectKey: string;
}

/** Options for tls.connect: TLS 1.3 only, our certificate, no chain check (checkPeer does the pinning). */
export function dialOptions(creds: TlsCredentials): { key: string; cert: string; minVersion: 'TLSv1.3'; rejectUnauthorized: false; checkServerIdentity: () => undefined } {
  return { key: creds.key, cert: creds.cert, minVersion: 'TLSv1.3', rejectUnauthorized: false, checkServerIdentity: () => undefined };
}

/**
 * Connects, handshakes and checks the peer's key; rejects with CHS_ERR_TLS_PEER_KEY (wrong key),
 * CHS_ERR_TLS_HANDSHAKE (TLS failed, or no handshake within timeoutMs) or the socket's error.
 */
export function dialTls(host: string, port: number, dial: TlsDial, timeoutMs: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    const socket = connect({ host, port, ...dialOptions(dial.credentials) });
    socket.setNoDelay(true);
    const timer = setTimeout(() => fail(tlsError('CHS_ERR_TLS_HANDSHAKE', `${where}: no TLS handshake within ${timeoutMs} ms`)), timeoutMs);
    const fail = (err: Error): void => { clearTimeout(timer); socket.destroy(); reject(err); };
    socket.once('error', (err) => {
      // A system error (ECONNREFUSED...) is the caller's to word; anything else is TLS failing.
      const system = /^E[A-Z]+$/.test((err as NodeJS.ErrnoException).code ?? '');
      fail(system ? err : tlsError('CHS_ERR_TLS_HANDSHAKE', `${where}: ${err.message}`, err));
    });
    socket.once('secureConnect', () => {
      try {
        checkPeer(socket, dial.expectKey, `node at ${where}`);
      } catch (err) {
        fail(err as Error);
        return;
      }
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}
