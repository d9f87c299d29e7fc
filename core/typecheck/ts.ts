// The compiler, loaded with require(): an ESM import of its 9 MB CommonJS file costs ~0.9 s
// here (the file is scanned for named exports, through tsx's loader), require() ~0.25 s.
// Values come from `ts`, types from `TS`.
import { createRequire } from 'node:module';
import type * as TS from 'typescript';

export type { TS };
export const ts = createRequire(import.meta.url)('typescript') as typeof TS;
