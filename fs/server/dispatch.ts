// Dispatch is a table with defaults (lib9p's srv() switch, p9's templatefs): message type ->
// handler. A type with no handler (an R-message sent to us, symlink on a tree that has none...)
// answers EOPNOTSUPP / "not supported". Tversion and Tflush are the session's own business and
// never reach the table. Handlers throw NineErrors; the session turns them into Rerror/Rlerror.
//
// A handler may answer synchronously (return the reply, or throw) when its tree does: the hot
// ones (getattr, read, write) do, which saves a promise, an async frame and a microtask hop per
// request. Together with the lazy AbortSignal (request.ts) and the direct Rgetattr encoder it
// took the server's CPU per Tgetattr from ~34 to ~24 µs (diodload -g, see bench/9p.md). Async
// handlers are fine everywhere else.

import type { TMsg } from '../codec/messages.ts';
import type { MaybePromise } from '../tree/types.ts';
import { E } from '../errors.ts';
import type { Ctx, HandlerTable, Reply } from './handler.ts';
import type { Req } from './request.ts';
import { common } from './ops-common.ts';
import { classic } from './ops-classic.ts';
import { linux } from './ops-linux.ts';

export const handlers: HandlerTable = { ...common, ...classic, ...linux };

/** The handler's reply (or a promise of it); throws what a synchronous handler throws. */
export function dispatch(ctx: Ctx, m: TMsg, req: Req): MaybePromise<Reply> {
  const h = handlers[m.type] as ((c: Ctx, m: TMsg, r: Req) => MaybePromise<Reply>) | undefined;
  if (!h) throw E.notSupported;
  return h(ctx, m, req);
}

