// cheshire/sdk: the one entry a module imports. Everything a module needs from the host is
// re-exported here; nothing under core/ or fs/ is reached by path. The host loads this file
// once, so every module (and every version of it) shares one copy: instanceof and singletons hold.
export type { ModuleContext, ModuleExports, Teardown, Requirement, Descriptor, HostControl } from '../types.ts';
export { serveHttp, closeServer, type Handler } from './http.ts';
