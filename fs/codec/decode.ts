// Frame -> message, for one dialect. Validates everything a hostile peer controls: size[4] equals
// the frame length, the type exists in the dialect (Tversion/Rversion exist in all), every field
// lies inside the frame, counts agree with the bytes present, nothing trails. Any failure is a
// CodecError; once the 7-byte header was read it carries `tag` and `msgType`, so a server can
// answer Rerror/Rlerror with the right tag instead of dropping the connection.

import { CodecError, Reader } from './buffer.ts';
import { HEADER_SIZE, MAXWELEM, msgName } from './constants.ts';
import { inDialect } from './messages.ts';
import type { Dialect, Msg, MsgType, Qid, Rerror, Stat, Tattach, Tauth, Tcreate, Tfsync } from './messages.ts';
import { readStat } from './stat.ts';

export function decode(frame: Uint8Array, dialect: Dialect): Msg {
  if (!(frame instanceof Uint8Array)) throw new CodecError('size', 'frame: not a Uint8Array');
  if (frame.length < HEADER_SIZE) {
    throw new CodecError('size', `frame of ${frame.length} bytes is shorter than the ${HEADER_SIZE}-byte header`);
  }
  const r = new Reader(frame);
  const size = r.u32('size');
  const type = r.u8('type');
  const tag = r.u16('tag');
  if (size !== frame.length) {
    throw new CodecError('size', `size field says ${size} bytes but the frame has ${frame.length}`, { tag, msgType: type, offset: 0 });
  }
  const name = msgName(type);
  if (name === undefined || name === 'Tlerror' || name === 'Terror') {
    // Tlerror/Terror are reserved numbers that no peer may send.
    throw new CodecError('unknown-type', `type ${type} is not a 9P message type`, { tag, msgType: type, offset: 4 });
  }
  if (!inDialect(name, dialect)) {
    throw new CodecError('wrong-dialect', `${name} (type ${type}) is not a ${dialect} message`, { tag, msgType: type, offset: 4 });
  }
  r.context = { label: name, tag, msgType: type };
  const msg = readBody(r, name, tag, dialect);
  r.end();
  return msg;
}

function readWnames(r: Reader): string[] {
  const n = r.u16('nwname');
  if (n > MAXWELEM) throw r.fail('limit', `nwname: ${n} names exceed the limit of ${MAXWELEM}`, r.offset - 2);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(r.str(`wname[${i}]`));
  return out;
}

function readWqids(r: Reader): Qid[] {
  const n = r.u16('nwqid');
  if (n > MAXWELEM) throw r.fail('limit', `nwqid: ${n} qids exceed the limit of ${MAXWELEM}`, r.offset - 2);
  const out: Qid[] = [];
  for (let i = 0; i < n; i++) out.push(r.qid(`wqid[${i}]`));
  return out;
}

/** n[2] stat[n]: n must be exactly the stat entry's own size[2] + 2. */
function readSizedStat(r: Reader, dialect: Dialect): Stat {
  const n = r.u16('n');
  const sub = r.sub(n, 'stat');
  const stat = readStat(sub, dialect);
  sub.end('stat (n disagrees with the stat size)');
  return stat;
}

function readBody(r: Reader, type: MsgType, tag: number, dialect: Dialect): Msg {
  const numeric = dialect !== '9P2000';
  const dotu = dialect === '9P2000.u';
  switch (type) {
    case 'Tversion': case 'Rversion': return { type, tag, msize: r.u32('msize'), version: r.str('version') };
    case 'Tauth': {
      const m: Tauth = { type, tag, afid: r.u32('afid'), uname: r.str('uname'), aname: r.str('aname') };
      if (numeric) m.nUname = r.u32('n_uname');
      return m;
    }
    case 'Rauth': return { type, tag, aqid: r.qid('aqid') };
    case 'Tattach': {
      const m: Tattach = { type, tag, fid: r.u32('fid'), afid: r.u32('afid'), uname: r.str('uname'), aname: r.str('aname') };
      if (numeric) m.nUname = r.u32('n_uname');
      return m;
    }
    case 'Rattach': case 'Rsymlink': case 'Rmknod': case 'Rmkdir': return { type, tag, qid: r.qid('qid') };
    case 'Tflush': return { type, tag, oldtag: r.u16('oldtag') };
    case 'Twalk': return { type, tag, fid: r.u32('fid'), newfid: r.u32('newfid'), wnames: readWnames(r) };
    case 'Rwalk': return { type, tag, wqids: readWqids(r) };
    case 'Tread': case 'Treaddir': return { type, tag, fid: r.u32('fid'), offset: r.u64('offset'), count: r.u32('count') };
    case 'Rread': case 'Rreaddir': return { type, tag, data: r.data('data') };
    case 'Twrite': return { type, tag, fid: r.u32('fid'), offset: r.u64('offset'), data: r.data('data') };
    case 'Rwrite': return { type, tag, count: r.u32('count') };
    case 'Tclunk': case 'Tremove': case 'Tstat': case 'Tstatfs': case 'Treadlink':
      return { type, tag, fid: r.u32('fid') };
    case 'Rflush': case 'Rclunk': case 'Rremove': case 'Rwstat': case 'Rrename': case 'Rsetattr':
    case 'Rxattrcreate': case 'Rfsync': case 'Rlink': case 'Rrenameat': case 'Runlinkat':
      return { type, tag };
    case 'Rerror': {
      const m: Rerror = { type, tag, ename: r.str('ename') };
      if (dotu) m.errno = r.u32('errno');
      return m;
    }
    case 'Topen': return { type, tag, fid: r.u32('fid'), mode: r.u8('mode') };
    case 'Ropen': case 'Rcreate': case 'Rlopen': case 'Rlcreate':
      return { type, tag, qid: r.qid('qid'), iounit: r.u32('iounit') };
    case 'Tcreate': {
      const m: Tcreate = { type, tag, fid: r.u32('fid'), name: r.str('name'), perm: r.u32('perm'), mode: r.u8('mode') };
      if (dotu) m.extension = r.str('extension');
      return m;
    }
    case 'Rstat': return { type, tag, stat: readSizedStat(r, dialect) };
    case 'Twstat': return { type, tag, fid: r.u32('fid'), stat: readSizedStat(r, dialect) };
    case 'Rlerror': return { type, tag, ecode: r.u32('ecode') };
    case 'Rstatfs':
      return {
        type, tag, fsType: r.u32('type'), bsize: r.u32('bsize'), blocks: r.u64('blocks'), bfree: r.u64('bfree'),
        bavail: r.u64('bavail'), files: r.u64('files'), ffree: r.u64('ffree'), fsid: r.u64('fsid'),
        namelen: r.u32('namelen'),
      };
    case 'Tlopen': return { type, tag, fid: r.u32('fid'), flags: r.u32('flags') };
    case 'Tlcreate':
      return { type, tag, fid: r.u32('fid'), name: r.str('name'), flags: r.u32('flags'), mode: r.u32('mode'), gid: r.u32('gid') };
    case 'Tsymlink': return { type, tag, fid: r.u32('fid'), name: r.str('name'), symtgt: r.str('symtgt'), gid: r.u32('gid') };
    case 'Tmknod':
      return {
        type, tag, dfid: r.u32('dfid'), name: r.str('name'), mode: r.u32('mode'),
        major: r.u32('major'), minor: r.u32('minor'), gid: r.u32('gid'),
      };
    case 'Trename': return { type, tag, fid: r.u32('fid'), dfid: r.u32('dfid'), name: r.str('name') };
    case 'Rreadlink': return { type, tag, target: r.str('target') };
    case 'Tgetattr': return { type, tag, fid: r.u32('fid'), requestMask: r.u64('request_mask') };
    case 'Rgetattr':
      return {
        type, tag, valid: r.u64('valid'), qid: r.qid('qid'), mode: r.u32('mode'), uid: r.u32('uid'), gid: r.u32('gid'),
        nlink: r.u64('nlink'), rdev: r.u64('rdev'), size: r.u64('size'), blksize: r.u64('blksize'),
        blocks: r.u64('blocks'), atimeSec: r.u64('atime_sec'), atimeNsec: r.u64('atime_nsec'),
        mtimeSec: r.u64('mtime_sec'), mtimeNsec: r.u64('mtime_nsec'), ctimeSec: r.u64('ctime_sec'),
        ctimeNsec: r.u64('ctime_nsec'), btimeSec: r.u64('btime_sec'), btimeNsec: r.u64('btime_nsec'),
        gen: r.u64('gen'), dataVersion: r.u64('data_version'),
      };
    case 'Tsetattr':
      return {
        type, tag, fid: r.u32('fid'), valid: r.u32('valid'), mode: r.u32('mode'), uid: r.u32('uid'), gid: r.u32('gid'),
        size: r.u64('size'), atimeSec: r.u64('atime_sec'), atimeNsec: r.u64('atime_nsec'),
        mtimeSec: r.u64('mtime_sec'), mtimeNsec: r.u64('mtime_nsec'),
      };
    case 'Txattrwalk': return { type, tag, fid: r.u32('fid'), newfid: r.u32('newfid'), name: r.str('name') };
    case 'Rxattrwalk': return { type, tag, size: r.u64('size') };
    case 'Txattrcreate':
      return { type, tag, fid: r.u32('fid'), name: r.str('name'), attrSize: r.u64('attr_size'), flags: r.u32('flags') };
    case 'Tfsync': {
      const m: Tfsync = { type, tag, fid: r.u32('fid') };
      // Linux appends datasync[4]; the diod/p9 form has none. Both are accepted, and exactly
      // four more bytes are read or none, so anything else still fails the trailing check.
      if (r.remaining === 4) m.datasync = r.u32('datasync');
      return m;
    }
    case 'Tlock':
      return {
        type, tag, fid: r.u32('fid'), lockType: r.u8('type'), flags: r.u32('flags'), start: r.u64('start'),
        length: r.u64('length'), procId: r.u32('proc_id'), clientId: r.str('client_id'),
      };
    case 'Rlock': return { type, tag, status: r.u8('status') };
    case 'Tgetlock':
      return {
        type, tag, fid: r.u32('fid'), lockType: r.u8('type'), start: r.u64('start'),
        length: r.u64('length'), procId: r.u32('proc_id'), clientId: r.str('client_id'),
      };
    case 'Rgetlock':
      return {
        type, tag, lockType: r.u8('type'), start: r.u64('start'),
        length: r.u64('length'), procId: r.u32('proc_id'), clientId: r.str('client_id'),
      };
    case 'Tlink': return { type, tag, dfid: r.u32('dfid'), fid: r.u32('fid'), name: r.str('name') };
    case 'Tmkdir': return { type, tag, dfid: r.u32('dfid'), name: r.str('name'), mode: r.u32('mode'), gid: r.u32('gid') };
    case 'Trenameat':
      return {
        type, tag, olddirfid: r.u32('olddirfid'), oldname: r.str('oldname'),
        newdirfid: r.u32('newdirfid'), newname: r.str('newname'),
      };
    case 'Tunlinkat': return { type, tag, dirfid: r.u32('dirfd'), name: r.str('name'), flags: r.u32('flags') };
    default: {
      const never: never = type;
      throw r.fail('unknown-type', `type ${String(never)} has no decoder`);
    }
  }
}
