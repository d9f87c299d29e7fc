// A module.register resolve hook: `cheshire/...` (the SDK) always resolves to the host's own
// copy, as if imported from inside the host package (its `exports` decide the file), wherever
// the importing file lives: a module folder outside this repo has no node_modules/cheshire.
// Everything else goes down the chain untouched. Registered by ./sdk-register.ts.
import type { ResolveHook } from 'node:module';

export const resolve: ResolveHook = (specifier, context, next) =>
  specifier.startsWith('cheshire/') ? next(specifier, { ...context, parentURL: import.meta.url }) : next(specifier, context);
