// Registers ./sdk-hook.ts. Imported by the loader (so natively loaded dependencies of a module
// find `cheshire/sdk` too) and passed as `--import` to the processes that run a module's tests,
// after tsx's `--import` (tsx loads this .ts file and the hook).
import { register } from 'node:module';

register('./sdk-hook.ts', import.meta.url);
