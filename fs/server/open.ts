// Opening a fid, shared by Topen, Tcreate, Tlopen and Tlcreate: the checks every dialect makes
// (not open yet, directories read-only) and the open state the read/write handlers rely on.

import { QTAPPEND } from '../codec/constants.ts';
import { E } from '../errors.ts';
import type { OpenMode } from '../tree/types.ts';
import { isDir } from './attrs.ts';
import type { Fid } from './fids.ts';

export async function openFid(fid: Fid, mode: OpenMode, removeOnClunk: boolean): Promise<void> {
  if (fid.auth) throw E.badFid;
  if (fid.open) throw E.alreadyOpen;
  const node = fid.node;
  const dir = isDir(node.qid);
  if (dir && (mode.write || mode.truncate || mode.append)) throw E.isDir;
  if (!dir && !node.open) throw E.notSupported;
  const m: OpenMode = { ...mode, append: mode.append || (node.qid.type & QTAPPEND) !== 0 };
  const handle = node.open ? await node.open(m) : {};
  // A second open racing this one on the same fid: keep the first, close ours.
  if (fid.open) { await handle.close?.(); throw E.alreadyOpen; }
  fid.open = {
    handle, read: m.read, write: m.write, dir, removeOnClunk,
    dirNext: 0n, dirIndex: 0, dirLock: Promise.resolve(),
  };
}
