// MaybePromise helpers for handlers that answer synchronously when their tree does (dispatch.ts).
// Kept apart from dispatch.ts so the ops-* modules can use them without an import cycle.

import type { MaybePromise } from '../tree/types.ts';

/** A tree's MaybePromise is a promise (or any thenable) rather than a value. */
export function isPromise<T>(v: MaybePromise<T>): v is Promise<T> {
  return v instanceof Promise || (typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function');
}
