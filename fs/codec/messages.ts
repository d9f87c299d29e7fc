// Every 9P message as a TypeScript type, with its wire layout, and which dialect has which.
// Integer fields are numbers except u64 fields (offsets, lengths, paths), which are bigints.
// Byte payloads (Rread, Twrite, Rreaddir) are Uint8Array; decode returns views into the frame.
// Fields marked ".u/.L" exist only in those dialects: decode sets them exactly when the dialect
// has them, and encode writes them exactly when they are present (encode(msg, dialect) checks).

export type Dialect = '9P2000' | '9P2000.u' | '9P2000.L';
export const DIALECTS: readonly Dialect[] = ['9P2000', '9P2000.u', '9P2000.L'];

/** qid[13]: type[1] version[4] path[8]. */
export interface Qid { type: number; version: number; path: bigint }

/** The .u tail of a stat: extension[s] n_uid[4] n_gid[4] n_muid[4]. */
export interface StatDotU { extension: string; nUid: number; nGid: number; nMuid: number }

/**
 * 9P2000 stat: size[2] type[2] dev[4] qid[13] mode[4] atime[4] mtime[4] length[8] name[s] uid[s]
 * gid[s] muid[s] (+ StatDotU in .u). size[2] is computed, not stored.
 */
export interface Stat {
  type: number; dev: number; qid: Qid; mode: number; atime: number; mtime: number; length: bigint;
  name: string; uid: string; gid: string; muid: string;
  /** Present exactly in 9P2000.u. */
  dotu?: StatDotU;
}

/** A .L directory entry in Rreaddir data: qid[13] offset[8] type[1] name[s]. */
export interface Dirent { qid: Qid; offset: bigint; type: number; name: string }

interface M<T extends string> { type: T; tag: number }

// ---- shared by all dialects (auth/attach grow n_uname in .u/.L) ----
// size[4] Tversion tag[2] msize[4] version[s]
export interface Tversion extends M<'Tversion'> { msize: number; version: string }
// size[4] Rversion tag[2] msize[4] version[s]
export interface Rversion extends M<'Rversion'> { msize: number; version: string }
// size[4] Tauth tag[2] afid[4] uname[s] aname[s] (.u/.L: n_uname[4])
export interface Tauth extends M<'Tauth'> { afid: number; uname: string; aname: string; nUname?: number }
// size[4] Rauth tag[2] aqid[13]
export interface Rauth extends M<'Rauth'> { aqid: Qid }
// size[4] Tattach tag[2] fid[4] afid[4] uname[s] aname[s] (.u/.L: n_uname[4])
export interface Tattach extends M<'Tattach'> { fid: number; afid: number; uname: string; aname: string; nUname?: number }
// size[4] Rattach tag[2] qid[13]
export interface Rattach extends M<'Rattach'> { qid: Qid }
// size[4] Tflush tag[2] oldtag[2]
export interface Tflush extends M<'Tflush'> { oldtag: number }
// size[4] Rflush tag[2]
export interface Rflush extends M<'Rflush'> {}
// size[4] Twalk tag[2] fid[4] newfid[4] nwname[2] nwname*(wname[s])
export interface Twalk extends M<'Twalk'> { fid: number; newfid: number; wnames: string[] }
// size[4] Rwalk tag[2] nwqid[2] nwqid*(wqid[13])
export interface Rwalk extends M<'Rwalk'> { wqids: Qid[] }
// size[4] Tread tag[2] fid[4] offset[8] count[4]
export interface Tread extends M<'Tread'> { fid: number; offset: bigint; count: number }
// size[4] Rread tag[2] count[4] data[count]
export interface Rread extends M<'Rread'> { data: Uint8Array }
// size[4] Twrite tag[2] fid[4] offset[8] count[4] data[count]
export interface Twrite extends M<'Twrite'> { fid: number; offset: bigint; data: Uint8Array }
// size[4] Rwrite tag[2] count[4]
export interface Rwrite extends M<'Rwrite'> { count: number }
// size[4] Tclunk tag[2] fid[4]
export interface Tclunk extends M<'Tclunk'> { fid: number }
// size[4] Rclunk tag[2]
export interface Rclunk extends M<'Rclunk'> {}
// size[4] Tremove tag[2] fid[4]
export interface Tremove extends M<'Tremove'> { fid: number }
// size[4] Rremove tag[2]
export interface Rremove extends M<'Rremove'> {}

// ---- 9P2000 and .u only ----
// size[4] Rerror tag[2] ename[s] (.u: errno[4])
export interface Rerror extends M<'Rerror'> { ename: string; errno?: number }
// size[4] Topen tag[2] fid[4] mode[1]
export interface Topen extends M<'Topen'> { fid: number; mode: number }
// size[4] Ropen tag[2] qid[13] iounit[4]
export interface Ropen extends M<'Ropen'> { qid: Qid; iounit: number }
// size[4] Tcreate tag[2] fid[4] name[s] perm[4] mode[1] (.u: extension[s])
export interface Tcreate extends M<'Tcreate'> { fid: number; name: string; perm: number; mode: number; extension?: string }
// size[4] Rcreate tag[2] qid[13] iounit[4]
export interface Rcreate extends M<'Rcreate'> { qid: Qid; iounit: number }
// size[4] Tstat tag[2] fid[4]
export interface Tstat extends M<'Tstat'> { fid: number }
// size[4] Rstat tag[2] n[2] stat[n]
export interface Rstat extends M<'Rstat'> { stat: Stat }
// size[4] Twstat tag[2] fid[4] n[2] stat[n]
export interface Twstat extends M<'Twstat'> { fid: number; stat: Stat }
// size[4] Rwstat tag[2]
export interface Rwstat extends M<'Rwstat'> {}

// ---- 9P2000.L only ----
// size[4] Rlerror tag[2] ecode[4]
export interface Rlerror extends M<'Rlerror'> { ecode: number }
// size[4] Tstatfs tag[2] fid[4]
export interface Tstatfs extends M<'Tstatfs'> { fid: number }
// size[4] Rstatfs tag[2] type[4] bsize[4] blocks[8] bfree[8] bavail[8] files[8] ffree[8] fsid[8] namelen[4]
export interface Rstatfs extends M<'Rstatfs'> {
  fsType: number; bsize: number; blocks: bigint; bfree: bigint; bavail: bigint;
  files: bigint; ffree: bigint; fsid: bigint; namelen: number;
}
// size[4] Tlopen tag[2] fid[4] flags[4]
export interface Tlopen extends M<'Tlopen'> { fid: number; flags: number }
// size[4] Rlopen tag[2] qid[13] iounit[4]
export interface Rlopen extends M<'Rlopen'> { qid: Qid; iounit: number }
// size[4] Tlcreate tag[2] fid[4] name[s] flags[4] mode[4] gid[4]
export interface Tlcreate extends M<'Tlcreate'> { fid: number; name: string; flags: number; mode: number; gid: number }
// size[4] Rlcreate tag[2] qid[13] iounit[4]
export interface Rlcreate extends M<'Rlcreate'> { qid: Qid; iounit: number }
// size[4] Tsymlink tag[2] fid[4] name[s] symtgt[s] gid[4]
export interface Tsymlink extends M<'Tsymlink'> { fid: number; name: string; symtgt: string; gid: number }
// size[4] Rsymlink tag[2] qid[13]
export interface Rsymlink extends M<'Rsymlink'> { qid: Qid }
// size[4] Tmknod tag[2] dfid[4] name[s] mode[4] major[4] minor[4] gid[4]
export interface Tmknod extends M<'Tmknod'> { dfid: number; name: string; mode: number; major: number; minor: number; gid: number }
// size[4] Rmknod tag[2] qid[13]
export interface Rmknod extends M<'Rmknod'> { qid: Qid }
// size[4] Trename tag[2] fid[4] dfid[4] name[s]
export interface Trename extends M<'Trename'> { fid: number; dfid: number; name: string }
// size[4] Rrename tag[2]
export interface Rrename extends M<'Rrename'> {}
// size[4] Treadlink tag[2] fid[4]
export interface Treadlink extends M<'Treadlink'> { fid: number }
// size[4] Rreadlink tag[2] target[s]
export interface Rreadlink extends M<'Rreadlink'> { target: string }
// size[4] Tgetattr tag[2] fid[4] request_mask[8]
export interface Tgetattr extends M<'Tgetattr'> { fid: number; requestMask: bigint }
// size[4] Rgetattr tag[2] valid[8] qid[13] mode[4] uid[4] gid[4] nlink[8] rdev[8] size[8] blksize[8]
//   blocks[8] atime_sec[8] atime_nsec[8] mtime_sec[8] mtime_nsec[8] ctime_sec[8] ctime_nsec[8]
//   btime_sec[8] btime_nsec[8] gen[8] data_version[8]
export interface Rgetattr extends M<'Rgetattr'> {
  valid: bigint; qid: Qid; mode: number; uid: number; gid: number;
  nlink: bigint; rdev: bigint; size: bigint; blksize: bigint; blocks: bigint;
  atimeSec: bigint; atimeNsec: bigint; mtimeSec: bigint; mtimeNsec: bigint;
  ctimeSec: bigint; ctimeNsec: bigint; btimeSec: bigint; btimeNsec: bigint;
  gen: bigint; dataVersion: bigint;
}
// size[4] Tsetattr tag[2] fid[4] valid[4] mode[4] uid[4] gid[4] size[8] atime_sec[8] atime_nsec[8]
//   mtime_sec[8] mtime_nsec[8]
export interface Tsetattr extends M<'Tsetattr'> {
  fid: number; valid: number; mode: number; uid: number; gid: number; size: bigint;
  atimeSec: bigint; atimeNsec: bigint; mtimeSec: bigint; mtimeNsec: bigint;
}
// size[4] Rsetattr tag[2]
export interface Rsetattr extends M<'Rsetattr'> {}
// size[4] Txattrwalk tag[2] fid[4] newfid[4] name[s]
export interface Txattrwalk extends M<'Txattrwalk'> { fid: number; newfid: number; name: string }
// size[4] Rxattrwalk tag[2] size[8]
export interface Rxattrwalk extends M<'Rxattrwalk'> { size: bigint }
// size[4] Txattrcreate tag[2] fid[4] name[s] attr_size[8] flags[4]
export interface Txattrcreate extends M<'Txattrcreate'> { fid: number; name: string; attrSize: bigint; flags: number }
// size[4] Rxattrcreate tag[2]
export interface Rxattrcreate extends M<'Rxattrcreate'> {}
// size[4] Treaddir tag[2] fid[4] offset[8] count[4]
export interface Treaddir extends M<'Treaddir'> { fid: number; offset: bigint; count: number }
// size[4] Rreaddir tag[2] count[4] data[count]   (data: Dirent entries, see dirent.ts)
export interface Rreaddir extends M<'Rreaddir'> { data: Uint8Array }
// size[4] Tfsync tag[2] fid[4] [datasync[4]]   (Linux sends datasync; diod's spec and p9 omit it)
export interface Tfsync extends M<'Tfsync'> { fid: number; datasync?: number }
// size[4] Rfsync tag[2]
export interface Rfsync extends M<'Rfsync'> {}
// size[4] Tlock tag[2] fid[4] type[1] flags[4] start[8] length[8] proc_id[4] client_id[s]
export interface Tlock extends M<'Tlock'> {
  fid: number; lockType: number; flags: number; start: bigint; length: bigint; procId: number; clientId: string;
}
// size[4] Rlock tag[2] status[1]
export interface Rlock extends M<'Rlock'> { status: number }
// size[4] Tgetlock tag[2] fid[4] type[1] start[8] length[8] proc_id[4] client_id[s]
export interface Tgetlock extends M<'Tgetlock'> {
  fid: number; lockType: number; start: bigint; length: bigint; procId: number; clientId: string;
}
// size[4] Rgetlock tag[2] type[1] start[8] length[8] proc_id[4] client_id[s]
export interface Rgetlock extends M<'Rgetlock'> {
  lockType: number; start: bigint; length: bigint; procId: number; clientId: string;
}
// size[4] Tlink tag[2] dfid[4] fid[4] name[s]
export interface Tlink extends M<'Tlink'> { dfid: number; fid: number; name: string }
// size[4] Rlink tag[2]
export interface Rlink extends M<'Rlink'> {}
// size[4] Tmkdir tag[2] dfid[4] name[s] mode[4] gid[4]
export interface Tmkdir extends M<'Tmkdir'> { dfid: number; name: string; mode: number; gid: number }
// size[4] Rmkdir tag[2] qid[13]
export interface Rmkdir extends M<'Rmkdir'> { qid: Qid }
// size[4] Trenameat tag[2] olddirfid[4] oldname[s] newdirfid[4] newname[s]
export interface Trenameat extends M<'Trenameat'> { olddirfid: number; oldname: string; newdirfid: number; newname: string }
// size[4] Rrenameat tag[2]
export interface Rrenameat extends M<'Rrenameat'> {}
// size[4] Tunlinkat tag[2] dirfd[4] name[s] flags[4]
export interface Tunlinkat extends M<'Tunlinkat'> { dirfid: number; name: string; flags: number }
// size[4] Runlinkat tag[2]
export interface Runlinkat extends M<'Runlinkat'> {}

export type Msg =
  | Tversion | Rversion | Tauth | Rauth | Tattach | Rattach | Tflush | Rflush | Twalk | Rwalk
  | Tread | Rread | Twrite | Rwrite | Tclunk | Rclunk | Tremove | Rremove
  | Rerror | Topen | Ropen | Tcreate | Rcreate | Tstat | Rstat | Twstat | Rwstat
  | Rlerror | Tstatfs | Rstatfs | Tlopen | Rlopen | Tlcreate | Rlcreate | Tsymlink | Rsymlink
  | Tmknod | Rmknod | Trename | Rrename | Treadlink | Rreadlink | Tgetattr | Rgetattr
  | Tsetattr | Rsetattr | Txattrwalk | Rxattrwalk | Txattrcreate | Rxattrcreate
  | Treaddir | Rreaddir | Tfsync | Rfsync | Tlock | Rlock | Tgetlock | Rgetlock
  | Tlink | Rlink | Tmkdir | Rmkdir | Trenameat | Rrenameat | Tunlinkat | Runlinkat;

export type MsgType = Msg['type'];
export type MsgOf<T extends MsgType> = Extract<Msg, { type: T }>;
/** Requests (a server decodes these) and replies (a client decodes these). */
export type TMsg = Extract<Msg, { type: `T${string}` }>;
export type RMsg = Extract<Msg, { type: `R${string}` }>;

const SHARED = [
  'Tversion', 'Rversion', 'Tauth', 'Rauth', 'Tattach', 'Rattach', 'Tflush', 'Rflush', 'Twalk', 'Rwalk',
  'Tread', 'Rread', 'Twrite', 'Rwrite', 'Tclunk', 'Rclunk', 'Tremove', 'Rremove',
] as const;
const CLASSIC = ['Rerror', 'Topen', 'Ropen', 'Tcreate', 'Rcreate', 'Tstat', 'Rstat', 'Twstat', 'Rwstat'] as const;
const LINUX = [
  'Rlerror', 'Tstatfs', 'Rstatfs', 'Tlopen', 'Rlopen', 'Tlcreate', 'Rlcreate', 'Tsymlink', 'Rsymlink',
  'Tmknod', 'Rmknod', 'Trename', 'Rrename', 'Treadlink', 'Rreadlink', 'Tgetattr', 'Rgetattr',
  'Tsetattr', 'Rsetattr', 'Txattrwalk', 'Rxattrwalk', 'Txattrcreate', 'Rxattrcreate',
  'Treaddir', 'Rreaddir', 'Tfsync', 'Rfsync', 'Tlock', 'Rlock', 'Tgetlock', 'Rgetlock',
  'Tlink', 'Rlink', 'Tmkdir', 'Rmkdir', 'Trenameat', 'Rrenameat', 'Tunlinkat', 'Runlinkat',
] as const;

export type Msg9P2000 = MsgOf<(typeof SHARED)[number] | (typeof CLASSIC)[number]>;
export type Msg9P2000u = Msg9P2000;
export type Msg9P2000L = MsgOf<(typeof SHARED)[number] | (typeof LINUX)[number]>;

/** The message types each dialect defines (Tversion/Rversion are in all three). */
export const DIALECT_MESSAGES: Readonly<Record<Dialect, ReadonlySet<MsgType>>> = {
  '9P2000': new Set<MsgType>([...SHARED, ...CLASSIC]),
  '9P2000.u': new Set<MsgType>([...SHARED, ...CLASSIC]),
  '9P2000.L': new Set<MsgType>([...SHARED, ...LINUX]),
};

export function inDialect(type: MsgType, dialect: Dialect): boolean {
  return DIALECT_MESSAGES[dialect].has(type);
}

/** .u and .L carry numeric ids (n_uname) on auth/attach. */
export function hasNumericIds(dialect: Dialect): boolean {
  return dialect !== '9P2000';
}
