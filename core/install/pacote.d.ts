// The part of pacote@21 (npm's package fetcher) core/install uses; pacote ships no types.
declare module 'pacote' {
  import type { Readable } from 'node:stream';

  export interface PacoteOptions {
    /** cacache folder (default: npm's cache). */
    cache?: string;
    /** Base folder for relative file: and folder specs. */
    where?: string;
    registry?: string;
    /** Expected integrity (ssri); a mismatch raises EINTEGRITY. */
    integrity?: string;
    /** Never run a folder's `prepare` script. */
    ignoreScripts?: boolean;
    /** Fetch the whole packument (custom fields such as `cheshire` included). */
    fullMetadata?: boolean;
    preferOnline?: boolean;
    offline?: boolean;
    signal?: AbortSignal;
    allowGit?: 'all' | 'none' | 'root';
    /** An Arborist node for a folder spec (npm-packlist reads path, package, isProjectRoot, edgesOut, workspaces). */
    tree?: unknown;
    [key: string]: unknown;
  }

  export interface FetchResult {
    from: string;
    resolved: string;
    integrity: string;
  }

  export interface Manifest {
    name: string;
    version: string;
    _resolved?: string;
    _integrity?: string;
    dist?: { tarball?: string; integrity?: string };
    [key: string]: unknown;
  }

  /** The tarball stream pacote hands a stream handler (a Minipass: readable and async-iterable). */
  export type TarballStream = Readable & AsyncIterable<Buffer> & { resolved?: string; integrity?: string };

  interface Tarball {
    (spec: string, opts?: PacoteOptions): Promise<Buffer & FetchResult>;
    stream<T>(spec: string, handler: (stream: TarballStream) => Promise<T>, opts?: PacoteOptions): Promise<T>;
    file(spec: string, dest: string, opts?: PacoteOptions): Promise<FetchResult>;
  }

  const pacote: {
    resolve(spec: string, opts?: PacoteOptions): Promise<string>;
    extract(spec: string, dest: string, opts?: PacoteOptions): Promise<FetchResult>;
    manifest(spec: string, opts?: PacoteOptions): Promise<Manifest>;
    tarball: Tarball;
  };
  export default pacote;
}
