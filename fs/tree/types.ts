// The file-tree interface the 9P session serves (after p9's file.go and lib9p's Srv ops).
// A tree is a graph of Nodes; the session owns everything protocol-shaped (fids, tags, open
// modes, "..", name checks, directory offsets and cookies, dialect conversions), so a tree only
// answers questions about files. Every method but `qid`/`name`/`removed` is optional or may be
// async; a missing one makes the session answer EOPNOTSUPP / "not supported".
//
// Errors: throw a NineError (fs/errors.ts, e.g. `E.notFound` or `E.perm.withText('read-only')`)
// to answer the client with it. Anything else thrown is a fault: the client gets EIO, the
// server's onError hook gets the error, and the connection and process carry on.
//
// Concurrency (what the session guarantees and what it asks):
//  - Requests on one connection run concurrently; the session never serialises a tree's calls
//    except directory reads on one fid. So a Node may see lookup/getattr/open/... from many
//    requests and connections at once, and a Handle may see overlapping read/write calls
//    (a pipelining client). Implementations must tolerate that; in-memory ones trivially do.
//  - `signal` aborts when the request is flushed, its fid is clunked, the session is reset by a
//    second Tversion or the server closes. Long waits (a blocking stream read) must honour it
//    and reject promptly (any error: the session answers an aborted request itself).
//  - Handle.close is called exactly once per successful open, after the fid is clunked (or
//    removed, or the session ends) and after every call on the handle has settled or been
//    abandoned; no call on the handle starts after close.
//  - A Node whose `removed` is true is never asked anything again: the session answers
//    ESTALE "file has been removed" for every fid that still points at it.

import type { Qid } from '../codec/messages.ts';

export type MaybePromise<T> = T | Promise<T>;

/** Attributes of a node, dialect-neutral. The file type is qid.type (QTDIR, QTAPPEND...). */
export interface Attr {
  /** Permission bits, e.g. 0o644 (no type bits). */
  mode: number;
  /** Length in bytes; 0 for directories and for synthetic files whose length is unknown. */
  size: bigint;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  /** Owner names (9P2000) and numbers (.u/.L). */
  uid: string;
  gid: string;
  muid: string;
  nUid: number;
  nGid: number;
  nlink: number;
}

/** Attribute changes (Twstat / Tsetattr); absent fields are left alone. Apply all or none. */
export interface AttrChange {
  mode?: number;
  size?: bigint;
  atimeMs?: number;
  mtimeMs?: number;
  nUid?: number;
  nGid?: number;
  uid?: string;
  gid?: string;
}

export interface OpenMode {
  read: boolean;
  write: boolean;
  /** Truncate to 0 on open (OTRUNC / O_TRUNC). */
  truncate: boolean;
  /** Writes append whatever their offset (O_APPEND, or a QTAPPEND file). */
  append: boolean;
}

/** An open file. Created by Node.open; lives until the fid is clunked. */
export interface Handle {
  /**
   * Up to `count` bytes at `offset`; an empty array means end of file. May block (streams).
   * The returned bytes are sent without a copy, so they must not change afterwards (return a
   * fresh buffer or an immutable snapshot).
   */
  read?(offset: bigint, count: number, signal: AbortSignal): MaybePromise<Uint8Array>;
  /**
   * Returns the number of bytes written. Throwing answers the write with the error.
   * `data` is a view of the connection's read buffer: it stays valid while the call runs (until
   * its promise settles, when it returns one), and may be overwritten after a synchronous
   * return, so a handle that keeps the bytes after returning synchronously must copy them.
   */
  write?(offset: bigint, data: Uint8Array, signal: AbortSignal): MaybePromise<number>;
  fsync?(): MaybePromise<void>;
  close?(): MaybePromise<void>;
  /**
   * True when read/write never look at their `signal` (they finish promptly on their own). The
   * session then passes one shared, never-aborted signal instead of creating an AbortController
   * per request (~3 µs each in Node 20, ~6% of the server's CPU on a 64 KiB read).
   */
  readonly ignoresSignal?: boolean;
  /**
   * Called once for each array `read` returned, when the server no longer refers to it: its
   * Rread was written to the socket (or copied into a small frame). Lets a handle reuse its
   * buffers (the export's read-ahead blocks). Not called for a reply that was never sent (a
   * flushed request, a closed connection): those arrays are left to the GC.
   */
  released?(data: Uint8Array): void;
}

/**
 * A handle that can answer a read with the arrays its data arrived in, so the server writes them
 * without joining them (a RemoteTree's read split into pieces). The server calls readPieces
 * instead of read; their concatenation is the data (at most `count` bytes, none: end of file).
 * released(), when the handle has it, is called once for each piece once the reply was written
 * (or copied).
 */
export interface ReadsInPieces {
  readPieces(offset: bigint, count: number, signal: AbortSignal): MaybePromise<Uint8Array[]>;
  released?(data: Uint8Array): void;
}

export function readsInPieces<H extends object>(h: H): h is H & ReadsInPieces {
  return typeof (h as Partial<ReadsInPieces>).readPieces === 'function';
}

export interface CreateRequest {
  name: string;
  dir: boolean;
  /** Permission bits requested (0o777 range). */
  perm: number;
  nUid: number;
  nGid: number;
  uid: string;
}

export interface StatFs {
  bsize: number;
  blocks: bigint;
  bfree: bigint;
  files: bigint;
  ffree: bigint;
  namelen: number;
}

export interface Node {
  /** This node's name in its parent ("/" for a root). May change after a rename. */
  readonly name: string;
  /** qid.path is unique in the tree and never reused; version changes when content changes. */
  readonly qid: Qid;
  /** True once the node has been taken out of its tree. */
  readonly removed?: boolean;

  getattr(): MaybePromise<Attr>;
  setattr?(change: AttrChange): MaybePromise<void>;
  /** Called after the session checked the open is legal for the kind (no writes on a directory). */
  open?(mode: OpenMode): MaybePromise<Handle>;

  // ---- directories (qid.type has QTDIR) ----
  /** The child called `name`, or undefined. Never called with "", ".", ".." or a name holding "/". */
  lookup?(name: string): MaybePromise<Node | undefined>;
  /** Children in a stable order (no "." or ".."). */
  list?(): MaybePromise<readonly Node[]>;
  /** Creates a child; throw E.exists if the name is taken. The session then opens files it creates. */
  create?(req: CreateRequest): MaybePromise<Node>;
  /** Removes the child `name` (a directory only when empty: throw E.notEmpty otherwise). */
  unlink?(name: string): MaybePromise<void>;
  /** Moves child `oldName` to `newDir`/`newName` (replacing a file there). newDir is a Node of the same tree. */
  rename?(oldName: string, newDir: Node, newName: string): MaybePromise<void>;
  statfs?(): MaybePromise<StatFs>;

  // ---- links (9P2000.L Tsymlink / Treadlink / Tlink; absent: EOPNOTSUPP) ----
  /** Creates the symlink `name` -> `target` in this directory. The target is text: a tree never follows it. */
  symlink?(name: string, target: string, owner: { nUid: number; nGid: number }): MaybePromise<Node>;
  /** The target text of this symlink (qid.type has QTSYMLINK). */
  readlink?(): MaybePromise<string>;
  /** Makes `name` in this directory another name of `target`; throw EXDEV if it is not a Node of this tree. */
  link?(name: string, target: Node): MaybePromise<void>;
}

/** What Tattach asks of the server: pick the root Node for an aname. */
export interface AttachRequest {
  uname: string;
  aname: string;
  /** n_uname (.u/.L); NONUNAME when absent. */
  nUname: number;
  /** "ip:port" of the peer. */
  remote: string;
  /** What the auth provider vouched for, when one is configured and the client authenticated. */
  authenticated?: { uname: string } | undefined;
}

export type AttachFn = (req: AttachRequest) => MaybePromise<Node>;
