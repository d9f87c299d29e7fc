// What bundling a module yields (core/loader.ts): its own file, so that what runs the code (the
// loader in-process, core/isolation in an isolate) can name it without importing each other.

export interface LoadedCode {
  /** sha256 of the bundled code, short: identifies a version of the module's files. */
  hash: string;
  code: string;
  /** The bundle's source map (JSON), registered when the code is evaluated. */
  map: string;
  /** Natively loaded namespaces of the imports that leave the module's folder. */
  externals: Map<string, unknown>;
  /** Absolute paths of the module's own files that went into the bundle. */
  files: string[];
}
