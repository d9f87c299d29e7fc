// What a RemoteTree's nodes and handles share: the live connection (a Link) and the Relay that
// hands it out and turns errors into the NineErrors to answer with.

import { ESTALE } from '../../codec/index.ts';
import type { Dialect } from '../../codec/index.ts';
import type { Client } from '../../client/client.ts';
import { NineError } from '../../errors.ts';

export const STALE = new NineError(ESTALE, 'remote connection was reset');

/** What a RemoteTree keeps per connection and for how long (remote/cache.ts). */
export interface CacheConfig { readonly attrMs: number; readonly fids: number; readonly pipeline: boolean }

/** One live connection to the remote, attached. */
export interface Link {
  readonly client: Client;
  readonly rootFid: number;
  /** Increases with every connection; nodes and handles remember the one they came from. */
  readonly id: number;
}

/** What nodes need of their RemoteTree. */
export interface Relay {
  readonly dialect: Dialect;
  /** What nodes keep and for how long (remote/cache.ts). */
  readonly cache: CacheConfig;
  /** The live link, if any. */
  readonly current: Link | undefined;
  /** The live link, waiting for a connection attempt in progress; NineError EIO when there is none. */
  link(): Promise<Link>;
  /** Any error of a request on `link` as the NineError to answer with (non-9P errors are rethrown as faults). */
  translate(err: unknown, link: Link, signal?: AbortSignal): Promise<unknown>;
}

/**
 * Clunks a fid of the relay's own numbering (LinkCache.newFid) without waiting. Sent as a plain
 * Tclunk: the client's clunk() would put the number on its free list for reuse.
 */
export function clunkLater(l: Link, fid: number): void {
  void l.client.rpc({ type: 'Tclunk', fid }).catch(() => undefined);
}
