// The hook for authentication through Tauth (none is configured by default: Tauth then answers
// "authentication not required" / ENOENT, which diod's clients and Linux take as "go ahead").
// A provider runs a conversation over the auth fid's reads and writes; Tattach then asks it who
// was proven. styx-root plugs a shared-secret provider in here.

import type { MaybePromise } from '../tree/types.ts';

export interface AuthInfo { uname: string; aname: string; nUname: number; remote: string }

/** The conversation behind one auth fid. */
export interface AuthConversation {
  read(count: number, signal: AbortSignal): MaybePromise<Uint8Array>;
  write(data: Uint8Array, signal: AbortSignal): MaybePromise<number>;
  /** Who the conversation proved, or undefined while unproven. Checked by Tattach. */
  result(): { uname: string } | undefined;
  close?(): void;
}

export interface AuthProvider {
  /** Starts a conversation for Tauth; throw a NineError to refuse outright. */
  begin(info: AuthInfo): MaybePromise<AuthConversation>;
  /** Whether Tattach without an auth fid (afid = NOFID) is accepted. Default: refused. */
  allowUnauthenticated?(info: AuthInfo): boolean;
}
