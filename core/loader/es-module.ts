// A namespace object as esbuild's CommonJS interop wants it: esbuild reads `__esModule` to use a
// namespace's `default` as the default import. One wrapper per namespace (kept while it lives).
const esCache = new WeakMap<object, object>();

export function asEsModule(ns: unknown): unknown {
  if (ns === null || typeof ns !== 'object') return ns;
  let wrapped = esCache.get(ns);
  if (!wrapped) {
    wrapped = Object.defineProperty({ ...(ns as object) }, '__esModule', { value: true });
    esCache.set(ns, wrapped);
  }
  return wrapped;
}
