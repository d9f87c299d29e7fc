// What the fileserver module's start() returns to its dependents (and its 9P tree drives).
import type { PutResult } from './store.ts';
import type { Token, TokenOptions } from './tokens.ts';

export interface IssuedToken extends Token {
  /** Absolute URLs for this node. */
  uploadUrl: string;
  progressUrl: string;
}

export interface FileserverService {
  url(): string;
  /** Re-reads the app assets and swaps them in at once (the seed calls it on "build published"). */
  invalidate(): Promise<{ generation: number; files: number; bytes: number }>;
  issueToken(opts?: TokenOptions): IssuedToken;
  revokeToken(token: string): boolean;
  /** Stores bytes (with codings when `name`'s type is compressible). */
  put(data: Buffer | string, name?: string): Promise<PutResult>;
  putFile(path: string, name?: string): Promise<PutResult>;
  publish(version: string, files: Record<string, string>): Promise<void>;
  unpublish(version: string): Promise<boolean>;
  versions(): Record<string, Record<string, string>>;
  vhosts(): Record<string, Record<string, string>>;
  /** Maps Host + key to an object: recorded as a config revision (the module restarts in place). */
  setVhost(host: string, key: string, sha256: string): Promise<void>;
  removeVhost(host: string, key?: string): Promise<void>;
  assetList(): { path: string; sha256: string; size: number }[];
  stats(): Record<string, unknown>;
}
