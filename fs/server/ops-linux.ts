// Handlers of 9P2000.L: lopen, lcreate, mkdir, getattr, setattr, readdir, statfs, fsync, rename,
// renameat, unlinkat, symlink, readlink, link, lock/getlock (advisory no-ops), xattrwalk (none).
// mknod has no handler, so the dispatch default answers EOPNOTSUPP.

import {
  AT_REMOVEDIR, L_O_ACCMODE, L_O_APPEND, L_O_RDONLY, L_O_RDWR, L_O_TRUNC, L_O_WRONLY, P9_LOCK_SUCCESS,
  P9_LOCK_TYPE_UNLCK, P9_SETATTR_ATIME, P9_SETATTR_ATIME_SET, P9_SETATTR_GID, P9_SETATTR_MODE,
  P9_SETATTR_MTIME, P9_SETATTR_MTIME_SET, P9_SETATTR_SIZE, P9_SETATTR_UID, QTSYMLINK,
} from '../codec/constants.ts';
import type { Dirent } from '../codec/messages.ts';
import { packDirents } from '../codec/dirent.ts';
import { E } from '../errors.ts';
import type { AttrChange, Node, OpenMode } from '../tree/types.ts';
import { checkNewName, direntType, isDir, toGetattr } from './attrs.ts';
import { isPromise } from './maybe.ts';
import { resolveNode } from '../tree/alias.ts';
import type { Ctx, HandlerTable } from './handler.ts';
import type { Fid } from './fids.ts';
import { openFid } from './open.ts';
import type { Req } from './request.ts';

const V9FS_MAGIC = 0x01021997;

function linuxMode(flags: number): OpenMode {
  const acc = flags & L_O_ACCMODE;
  return {
    read: acc === L_O_RDONLY || acc === L_O_RDWR,
    write: acc === L_O_WRONLY || acc === L_O_RDWR,
    truncate: (flags & L_O_TRUNC) !== 0,
    append: (flags & L_O_APPEND) !== 0,
  };
}

function dirFid(ctx: Ctx, req: Req, id: number): Fid {
  const fid = ctx.use(req, id);
  if (fid.auth) throw E.badFid;
  if (!isDir(fid.node.qid)) throw E.notDir;
  return fid;
}

async function createIn(fid: Fid, name: string, dir: boolean, mode: number, gid: number): Promise<Node> {
  checkNewName(name);
  const node = fid.node;
  if (!node.create) throw E.notSupported;
  return node.create({ name, dir, perm: mode & 0o777, nUid: fid.nUname, nGid: gid, uid: fid.uname });
}

/** Seconds+nanoseconds to ms; beyond what a Date can hold is EINVAL (as Linux answers for such times). */
const MAX_SEC = 8_640_000_000_000n;
function ms(sec: bigint, nsec: bigint): number {
  if (sec > MAX_SEC || nsec >= 1_000_000_000n) throw E.invalid;
  return Number(sec) * 1000 + Math.floor(Number(nsec) / 1e6);
}

export const linux: HandlerTable = {
  async Tlopen(ctx, m, req) {
    const fid = ctx.use(req, m.fid);
    await openFid(fid, linuxMode(m.flags), false);
    return { type: 'Rlopen', tag: m.tag, qid: { ...fid.node.qid }, iounit: ctx.iounit };
  },

  async Tlcreate(ctx, m, req) {
    const fid = dirFid(ctx, req, m.fid);
    if (fid.open) throw E.alreadyOpen;
    const node = await createIn(fid, m.name, false, m.mode, m.gid);
    fid.path = [...fid.path, node];
    await openFid(fid, linuxMode(m.flags), false);
    return { type: 'Rlcreate', tag: m.tag, qid: { ...node.qid }, iounit: ctx.iounit };
  },

  async Tmkdir(ctx, m, req) {
    const node = await createIn(dirFid(ctx, req, m.dfid), m.name, true, m.mode, m.gid);
    return { type: 'Rmkdir', tag: m.tag, qid: { ...node.qid } };
  },

  async Tsymlink(ctx, m, req) {
    const fid = dirFid(ctx, req, m.fid);
    checkNewName(m.name);
    if (!fid.node.symlink) throw E.notSupported;
    const node = await fid.node.symlink(m.name, m.symtgt, { nUid: fid.nUname, nGid: m.gid });
    return { type: 'Rsymlink', tag: m.tag, qid: { ...node.qid } };
  },

  async Treadlink(ctx, m, req) {
    const fid = ctx.use(req, m.fid);
    if (fid.auth) throw E.badFid;
    if ((fid.node.qid.type & QTSYMLINK) === 0) throw E.invalid; // readlink(2) of a non-link
    if (!fid.node.readlink) throw E.notSupported;
    return { type: 'Rreadlink', tag: m.tag, target: await fid.node.readlink() };
  },

  async Tlink(ctx, m, req) {
    const dir = dirFid(ctx, req, m.dfid);
    const target = ctx.use(req, m.fid);
    if (target.auth) throw E.badFid;
    checkNewName(m.name);
    if (!dir.node.link) throw E.notSupported;
    await dir.node.link(m.name, await resolveNode(target.node));
    return { type: 'Rlink', tag: m.tag };
  },

  // Synchronous when the tree's getattr is (see dispatch.ts).
  Tgetattr(ctx, m, req) {
    const fid = ctx.use(req, m.fid);
    if (fid.auth) throw E.badFid;
    const node = fid.node;
    const a = node.getattr();
    return isPromise(a) ? a.then((attr) => toGetattr(m.tag, node, attr)) : toGetattr(m.tag, node, a);
  },

  async Tsetattr(ctx, m, req) {
    const fid = ctx.use(req, m.fid);
    if (fid.auth) throw E.badFid;
    const node = fid.node;
    const c: AttrChange = {};
    if (m.valid & P9_SETATTR_MODE) c.mode = m.mode & 0o7777;
    if (m.valid & P9_SETATTR_UID) c.nUid = m.uid;
    if (m.valid & P9_SETATTR_GID) c.nGid = m.gid;
    if (m.valid & P9_SETATTR_SIZE) {
      if (isDir(node.qid)) throw E.isDir;
      c.size = m.size;
    }
    const now = Date.now();
    if (m.valid & P9_SETATTR_ATIME) c.atimeMs = m.valid & P9_SETATTR_ATIME_SET ? ms(m.atimeSec, m.atimeNsec) : now;
    if (m.valid & P9_SETATTR_MTIME) c.mtimeMs = m.valid & P9_SETATTR_MTIME_SET ? ms(m.mtimeSec, m.mtimeNsec) : now;
    if (Object.keys(c).length > 0) {
      if (!node.setattr) throw E.notSupported;
      await node.setattr(c);
    }
    return { type: 'Rsetattr', tag: m.tag };
  },

  async Treaddir(ctx, m, req) {
    const fid = ctx.use(req, m.fid);
    const open = fid.open;
    if (!open) throw E.notOpen;
    if (!open.dir) throw E.notDir;
    if (!open.read) throw E.notOpenRead;
    const count = Math.min(m.count, ctx.iounit);
    // Cookies are indexes into a listing taken when the client starts over (offset 0).
    if (m.offset === 0n || !open.dirents) {
      const node = fid.node;
      const parent = fid.parent ?? node;
      const children = node.list ? await node.list() : [];
      const all: Dirent[] = [
        { qid: { ...node.qid }, offset: 0n, type: direntType(node.qid), name: '.' },
        { qid: { ...parent.qid }, offset: 0n, type: direntType(parent.qid), name: '..' },
      ];
      for (const c of children) if (!c.removed) all.push({ qid: { ...c.qid }, offset: 0n, type: direntType(c.qid), name: c.name });
      all.forEach((d, i) => { d.offset = BigInt(i + 1); });
      open.dirents = all;
    }
    const start = m.offset > BigInt(open.dirents.length) ? open.dirents.length : Number(m.offset);
    const rest = open.dirents.slice(start);
    const { data, count: n } = packDirents(rest, count);
    if (n === 0 && rest.length > 0) throw E.tooSmall;
    return { type: 'Rreaddir', tag: m.tag, data };
  },

  async Tstatfs(ctx, m, req) {
    const fid = ctx.use(req, m.fid);
    if (fid.auth) throw E.badFid;
    const s = fid.node.statfs ? await fid.node.statfs() : { bsize: 4096, blocks: 0n, bfree: 0n, files: 0n, ffree: 0n, namelen: 255 };
    return {
      type: 'Rstatfs', tag: m.tag, fsType: V9FS_MAGIC, bsize: s.bsize, blocks: s.blocks, bfree: s.bfree,
      bavail: s.bfree, files: s.files, ffree: s.ffree, fsid: 0n, namelen: s.namelen,
    };
  },

  async Tfsync(ctx, m, req) {
    const fid = ctx.use(req, m.fid);
    if (!fid.open) throw E.notOpen;
    await fid.open.handle.fsync?.();
    return { type: 'Rfsync', tag: m.tag };
  },

  async Trename(ctx, m, req) {
    const fid = ctx.use(req, m.fid);
    const to = dirFid(ctx, req, m.dfid);
    checkNewName(m.name);
    if (!fid.parent) throw E.perm.withText('cannot rename the root');
    if (!fid.parent.rename) throw E.notSupported;
    const node = fid.node;
    const { parent, name } = await fid.entry(); // still the fid's file (see Fid.entry)
    await parent.rename!(name, await resolveNode(to.node), m.name);
    // The fid (and any other on the file or below it) now lives in the destination directory:
    // a later Tremove, ORCLOSE, Trename or ".." must go through its new parent.
    if (to.node !== parent) ctx.fids.moved(node, parent, to.path);
    return { type: 'Rrename', tag: m.tag };
  },

  async Trenameat(ctx, m, req) {
    const from = dirFid(ctx, req, m.olddirfid);
    const to = dirFid(ctx, req, m.newdirfid);
    checkNewName(m.oldname);
    checkNewName(m.newname);
    const dir = from.node;
    if (!dir.rename) throw E.notSupported;
    await dir.rename(m.oldname, await resolveNode(to.node), m.newname);
    // Fids walked to the moved entry (or into it) through the old directory follow it, as after
    // Trename. Which node that is: the one now at the new name (a lookup, made only when some
    // fid goes through the old directory). The rename is done: a failing lookup only leaves those
    // fids on their old path, where Fid.entry() refuses what goes through the old parent.
    if (to.node !== dir && ctx.fids.walkedThrough(dir) && to.node.lookup) {
      let moved: Node | undefined;
      try {
        moved = await to.node.lookup(m.newname);
      } catch {
        moved = undefined;
      }
      if (moved) ctx.fids.moved(moved, dir, to.path);
    }
    return { type: 'Rrenameat', tag: m.tag };
  },

  async Tunlinkat(ctx, m, req) {
    const fid = dirFid(ctx, req, m.dirfid);
    checkNewName(m.name);
    const node = fid.node;
    if (!node.unlink) throw E.notSupported;
    const child = node.lookup ? await node.lookup(m.name) : undefined;
    if (!child) throw E.notFound;
    const wantDir = (m.flags & AT_REMOVEDIR) !== 0;
    if (wantDir && !isDir(child.qid)) throw E.notDir;
    if (!wantDir && isDir(child.qid)) throw E.isDir;
    await node.unlink(m.name);
    return { type: 'Runlinkat', tag: m.tag };
  },

  // Advisory locks always succeed: the trees here have no lock semantics, and Linux only needs
  // an answer to let flock/fcntl proceed (diod implements real ones; a local export may later).
  async Tlock(ctx, m, req) {
    ctx.use(req, m.fid);
    return { type: 'Rlock', tag: m.tag, status: P9_LOCK_SUCCESS };
  },

  async Tgetlock(ctx, m, req) {
    ctx.use(req, m.fid);
    return { type: 'Rgetlock', tag: m.tag, lockType: P9_LOCK_TYPE_UNLCK, start: m.start, length: m.length, procId: m.procId, clientId: m.clientId };
  },
};
