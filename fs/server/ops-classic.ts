// Handlers of 9P2000 (and .u): open, create, stat, wstat, and directory reads through Tread.

import { DMDEVICE, DMDIR, DMLINK, DMNAMEDPIPE, DMSOCKET, DMSYMLINK, OEXEC, ORCLOSE, ORDWR, OREAD, OTRUNC, OWRITE, OAPPEND } from '../codec/constants.ts';
import type { Stat } from '../codec/messages.ts';
import { packStats } from '../codec/stat.ts';
import { E } from '../errors.ts';
import type { AttrChange, OpenMode } from '../tree/types.ts';
import { checkNewName, isDir, statOf } from './attrs.ts';
import type { Ctx, HandlerTable } from './handler.ts';
import type { Fid, OpenState } from './fids.ts';
import { openFid } from './open.ts';

function classicMode(mode: number, dotu: boolean): OpenMode {
  const acc = mode & 3;
  return {
    read: acc === OREAD || acc === ORDWR || acc === OEXEC,
    write: acc === OWRITE || acc === ORDWR,
    truncate: (mode & OTRUNC) !== 0,
    append: dotu && (mode & OAPPEND) !== 0,
  };
}

/**
 * A 9P2000 directory read: whole stat entries only; the offset must be 0 (start over, with a
 * fresh listing) or exactly where the previous read ended.
 */
export function readDirectory(ctx: Ctx, fid: Fid, open: OpenState, offset: bigint, count: number): Promise<Uint8Array> {
  const run = async (): Promise<Uint8Array> => {
    if (offset === 0n) {
      const node = fid.node;
      const children = node.list ? await node.list() : [];
      open.dirStats = await Promise.all(children.filter((c) => !c.removed).map((c) => statOf(c, ctx.dialect)));
      open.dirIndex = 0;
      open.dirNext = 0n;
    } else if (offset !== open.dirNext || !open.dirStats) {
      throw E.badOffset;
    }
    const rest: Stat[] = open.dirStats.slice(open.dirIndex);
    // An entry that does not fit: at offset 0 an error (the count is too small for any listing);
    // further on 0 bytes, and the client comes back at this same offset with a fresh buffer
    // (Linux asks for the tail of its buffer and drops the whole batch on an error; qemu's
    // server answers 0 the same way).
    const { data, count: n } = packStats(rest, count);
    if (n === 0 && rest.length > 0 && offset === 0n) throw E.tooSmall;
    open.dirIndex += n;
    open.dirNext = offset + BigInt(data.length);
    return data;
  };
  const p = open.dirLock.then(run);
  open.dirLock = p.then(() => undefined, () => undefined);
  return p;
}

/** The 9P2000.u create bits for files that are not plain files or directories. */
const SPECIAL = DMSYMLINK | DMLINK | DMDEVICE | DMNAMEDPIPE | DMSOCKET;

/**
 * A 9P2000.u Tcreate of a special file: DMSYMLINK makes the symlink `extension` names (through
 * the tree's symlink, confined like every other link; the fid then stands for the link, not
 * opened for I/O); hard links, devices, pipes and sockets are refused with EOPNOTSUPP. Never a
 * plain file in their place. In 9P2000 these bits mean nothing, and are refused the same way.
 */
async function createSpecial(ctx: Ctx, fid: Fid, tag: number, name: string, special: number, extension: string | undefined) {
  if (special !== DMSYMLINK || ctx.dialect !== '9P2000.u') throw E.notSupported.withText(`cannot create a special file (perm bits 0x${special.toString(16)}) here`);
  const dirNode = fid.node;
  if (!dirNode.symlink) throw E.notSupported;
  if (!extension) throw E.invalid.withText('a symlink needs its target in the extension');
  const node = await dirNode.symlink(name, extension, { nUid: fid.nUname, nGid: fid.nUname });
  fid.path = [...fid.path, node];
  return { type: 'Rcreate' as const, tag, qid: { ...node.qid }, iounit: ctx.iounit };
}

export const classic: HandlerTable = {
  async Topen(ctx, m, req) {
    const fid = ctx.use(req, m.fid);
    await openFid(fid, classicMode(m.mode, ctx.dialect === '9P2000.u'), (m.mode & ORCLOSE) !== 0);
    return { type: 'Ropen', tag: m.tag, qid: { ...fid.node.qid }, iounit: ctx.iounit };
  },

  async Tcreate(ctx, m, req) {
    const fid = ctx.use(req, m.fid);
    if (fid.auth) throw E.badFid;
    if (fid.open) throw E.alreadyOpen;
    const dirNode = fid.node;
    if (!isDir(dirNode.qid)) throw E.notDir;
    checkNewName(m.name);
    const special = m.perm & SPECIAL;
    if (special) return createSpecial(ctx, fid, m.tag, m.name, special, m.extension);
    if (!dirNode.create) throw E.notSupported;
    const dir = (m.perm & DMDIR) !== 0;
    const mode = classicMode(m.mode, ctx.dialect === '9P2000.u');
    if (dir && (mode.write || mode.truncate)) throw E.isDir;
    // create(5): a new file's permissions are masked by the directory's.
    const parentPerm = (await dirNode.getattr()).mode;
    const perm = dir ? m.perm & (~0o777 | (parentPerm & 0o777)) : m.perm & (~0o666 | (parentPerm & 0o666));
    const node = await dirNode.create({ name: m.name, dir, perm: perm & 0o777, nUid: fid.nUname, nGid: fid.nUname, uid: fid.uname });
    fid.path = [...fid.path, node];
    await openFid(fid, mode, (m.mode & ORCLOSE) !== 0);
    return { type: 'Rcreate', tag: m.tag, qid: { ...node.qid }, iounit: ctx.iounit };
  },

  async Tstat(ctx, m, req) {
    const fid = ctx.use(req, m.fid);
    if (fid.auth) throw E.badFid;
    const node = fid.node;
    return { type: 'Rstat', tag: m.tag, stat: await statOf(node, ctx.dialect) };
  },

  async Twstat(ctx, m, req) {
    const fid = ctx.use(req, m.fid);
    if (fid.auth) throw E.badFid;
    const node = fid.node;
    const s = m.stat;
    // ~0 and "" mean "don't touch"; a stat of nothing but those is a request to sync.
    const change: AttrChange = {};
    if (s.mode !== 0xffffffff) {
      if (((s.mode & DMDIR) !== 0) !== isDir(node.qid)) throw E.perm.withText('cannot change a file into a directory');
      change.mode = s.mode & 0o777;
    }
    if (s.length !== 0xffffffffffffffffn) {
      if (isDir(node.qid) && s.length !== 0n) throw E.isDir;
      if (!isDir(node.qid)) change.size = s.length;
    }
    if (s.mtime !== 0xffffffff) change.mtimeMs = s.mtime * 1000;
    if (s.atime !== 0xffffffff) change.atimeMs = s.atime * 1000;
    if (s.gid !== '') change.gid = s.gid;
    if (s.uid !== '') change.uid = s.uid;
    if (s.type !== 0xffff || s.dev !== 0xffffffff) throw E.perm.withText('cannot change type or dev');
    const rename = s.name !== '' && s.name !== node.name;
    if (rename) checkNewName(s.name);
    // All or nothing: refuse before touching anything what cannot be done.
    if (rename && (!fid.parent || !fid.parent.rename)) throw E.notSupported;
    if (Object.keys(change).length > 0 && !node.setattr) throw E.notSupported;
    // The entry renamed is checked to be still the fid's file (see Fid.entry).
    const entry = rename ? await fid.entry() : undefined;
    if (entry?.parent.lookup && await entry.parent.lookup(s.name)) throw E.exists;
    if (Object.keys(change).length > 0) await node.setattr!(change);
    // In place: the parent stays, and the node carries its new name, so no fid path changes.
    if (entry) await entry.parent.rename!(entry.name, entry.parent, s.name);
    return { type: 'Rwstat', tag: m.tag };
  },
};
