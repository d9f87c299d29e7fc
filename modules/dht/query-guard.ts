// Incoming KRPC queries are checked before bittorrent-dht's handlers see them. The library trusts
// the shape of what it decodes: a `get` whose target is an integer, a `put` with a signature but
// no key, a salt that is not a string... each threw out of the socket's message handler (one
// datagram from anyone crashed the module). It also drops a put with a bad signature without an
// answer. Here every malformed query is answered with a KRPC error (BEP 5: 203), every refused put
// with BEP 44's (205 value too big, 206 bad signature, 207 salt too big, 301 CAS mismatch,
// 302 seq not above the stored one), and each refusal is counted.
import type DHT from 'bittorrent-dht';
import type { RemoteInfo } from 'node:dgram';
import { bencode, isBValue } from './bencode.ts';
import { MAX_SALT_BYTES, MAX_VALUE_BYTES, mutableTarget, signedBytes, verifyItem } from './item.ts';
import type { Refusal } from './reply.ts';

type Problem = [code: number, text: string, reason: Refusal];

const isBuf = (b: unknown, len?: number): b is Buffer => Buffer.isBuffer(b) && (len === undefined || b.length === len);
const isInt = (n: unknown): n is number => Number.isSafeInteger(n);
const malformed = (text: string): Problem => [203, text, 'malformed'];

/** Only the fields a handler of the library reads; anything else is left alone. */
function check(raw: DHT, query: Record<string, unknown>, peer: RemoteInfo): Problem | null {
  const a = query.a as Record<string, unknown> | undefined;
  if (!isBuf(query.q)) return malformed('q must be a string');
  if (!a || typeof a !== 'object' || Array.isArray(a) || Buffer.isBuffer(a)) return malformed('a must be a dictionary');
  if (!isBuf(a.id, 20)) return malformed('a.id must be a 20-byte node id');
  switch (query.q.toString()) {
    case 'find_node':
    case 'get':
      return isBuf(a.target, 20) ? null : malformed('a.target must be 20 bytes');
    case 'get_peers':
      return isBuf(a.info_hash, 20) ? null : malformed('a.info_hash must be 20 bytes');
    case 'announce_peer':
      if (!isBuf(a.info_hash, 20)) return malformed('a.info_hash must be 20 bytes');
      if (!isBuf(a.token)) return malformed('a.token must be a string');
      if (a.implied_port !== undefined && !isInt(a.implied_port)) return malformed('a.implied_port must be an integer');
      if (!a.implied_port && !(isInt(a.port) && a.port > 0 && a.port < 65536)) return malformed('a.port must be a port number');
      return null;
    case 'put':
      return checkPut(raw, a, peer);
  }
  return null;
}

function checkPut(raw: DHT, a: Record<string, unknown>, peer: RemoteInfo): Problem | null {
  if (!isBuf(a.token)) return malformed('a.token must be a string');
  if (a.v === undefined || !isBValue(a.v)) return malformed('a.v must be a bencoded value');
  const mutable = a.k !== undefined || a.sig !== undefined;
  if (mutable) {
    if (!isBuf(a.k, 32)) return malformed('a.k must be a 32-byte ed25519 public key');
    if (!isBuf(a.sig, 64)) return malformed('a.sig must be a 64-byte signature');
    if (!isInt(a.seq) || a.seq < 0) return malformed('a.seq must be a non-negative integer');
    if (a.salt !== undefined && !isBuf(a.salt)) return malformed('a.salt must be a string');
    if (a.cas !== undefined && !isInt(a.cas)) return malformed('a.cas must be an integer');
  }
  if (!raw._validateToken(peer.address, a.token)) return malformed('bad token');
  const v = bencode(a.v);
  if (v.length > MAX_VALUE_BYTES) return [205, `message (v field) too big: ${v.length} bytes bencoded`, 'size'];
  if (!mutable) return null;
  const k = a.k as Buffer;
  const salt = a.salt as Buffer | undefined;
  const seq = a.seq as number;
  if (salt && salt.length > MAX_SALT_BYTES) return [207, `salt (salt field) too big: ${salt.length} bytes`, 'size'];
  const sig = a.sig as Buffer;
  if (!verifyItem(sig, signedBytes(v, seq, salt, true), k)) {
    // An empty salt is no salt (BEP 44, libtorrent); bittorrent-dht signs "4:salt0:" all the same.
    const withEmptySalt = salt?.length === 0 && verifyItem(sig, Buffer.concat([Buffer.from('4:salt0:'), signedBytes(v, seq, undefined, true)]), k);
    if (!withEmptySalt) return [206, 'invalid signature', 'signature'];
  } else if (salt?.length === 0) {
    delete a.salt; // signed without it: the library must verify it so too
  }
  const prev = raw._values.get(mutableTarget(k, salt).toString('hex'));
  if (prev && typeof prev.seq === 'number') {
    if (typeof a.cas === 'number' && a.cas !== prev.seq) return [301, 'CAS mismatch, re-read and try again', 'seq'];
    if (!(seq > prev.seq)) return [302, `sequence number ${seq} is not above the stored ${prev.seq}`, 'seq'];
  }
  return null;
}

/** Puts the check in front of the library's query dispatch; `refused` counts each refusal. */
export function guardQueries(raw: DHT, refused: (reason: Refusal) => void): void {
  const dispatch = raw._onquery.bind(raw);
  const answer = (peer: RemoteInfo, query: unknown, code: number, text: string) => {
    try { raw._rpc.error(peer, query, [code, text]); } catch { /* no transaction id to answer to */ }
  };
  raw._onquery = (query: Record<string, unknown>, peer: RemoteInfo) => {
    let problem: Problem | null;
    try {
      problem = check(raw, query, peer);
    } catch {
      problem = malformed('malformed query');
    }
    if (problem) {
      refused(problem[2]);
      return answer(peer, query, problem[0], problem[1]);
    }
    try {
      dispatch(query, peer);
    } catch {
      // What the checks above missed still must not escape into the socket's message handler.
      refused('malformed');
      answer(peer, query, 202, 'server error');
    }
  };
}
