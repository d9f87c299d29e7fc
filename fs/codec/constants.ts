// Wire numbers of 9P2000, 9P2000.u and 9P2000.L: message types, sentinels, mode and flag bits,
// and the Linux errno values a .L server answers with. Values follow intro(5), the .u draft and
// Linux include/net/9p/9p.h; nothing here depends on the host OS (errno is Linux's by protocol).

/** Message name -> type byte. T is always even and its R is T+1. */
export const MSG = {
  Tlerror: 6, Rlerror: 7,
  Tstatfs: 8, Rstatfs: 9,
  Tlopen: 12, Rlopen: 13,
  Tlcreate: 14, Rlcreate: 15,
  Tsymlink: 16, Rsymlink: 17,
  Tmknod: 18, Rmknod: 19,
  Trename: 20, Rrename: 21,
  Treadlink: 22, Rreadlink: 23,
  Tgetattr: 24, Rgetattr: 25,
  Tsetattr: 26, Rsetattr: 27,
  Txattrwalk: 30, Rxattrwalk: 31,
  Txattrcreate: 32, Rxattrcreate: 33,
  Treaddir: 40, Rreaddir: 41,
  Tfsync: 50, Rfsync: 51,
  Tlock: 52, Rlock: 53,
  Tgetlock: 54, Rgetlock: 55,
  Tlink: 70, Rlink: 71,
  Tmkdir: 72, Rmkdir: 73,
  Trenameat: 74, Rrenameat: 75,
  Tunlinkat: 76, Runlinkat: 77,
  Tversion: 100, Rversion: 101,
  Tauth: 102, Rauth: 103,
  Tattach: 104, Rattach: 105,
  Terror: 106, Rerror: 107,
  Tflush: 108, Rflush: 109,
  Twalk: 110, Rwalk: 111,
  Topen: 112, Ropen: 113,
  Tcreate: 114, Rcreate: 115,
  Tread: 116, Rread: 117,
  Twrite: 118, Rwrite: 119,
  Tclunk: 120, Rclunk: 121,
  Tremove: 122, Rremove: 123,
  Tstat: 124, Rstat: 125,
  Twstat: 126, Rwstat: 127,
} as const;

export type MsgName = keyof typeof MSG;

const NAMES: ReadonlyMap<number, MsgName> = new Map(
  (Object.keys(MSG) as MsgName[]).map((name) => [MSG[name], name]),
);

/** The name of a type byte, or undefined when no dialect defines it. */
export function msgName(type: number): MsgName | undefined {
  return NAMES.get(type);
}

// Sentinels and sizes (intro(5)).
export const NOTAG = 0xffff;
export const NOFID = 0xffffffff;
/** .u/.L n_uname meaning "no numeric uid, use uname". */
export const NONUNAME = 0xffffffff;
/** Bytes of Twrite/Rread overhead: size[4] type[1] tag[2] fid[4] offset[8] count[4] + 1 spare. */
export const IOHDRSZ = 24;
export const MAXWELEM = 16;
/** size[4] type[1] tag[2]: the smallest possible frame. */
export const HEADER_SIZE = 7;
export const QID_SIZE = 13;
export const VERSION_9P2000 = '9P2000';
export const VERSION_9P2000_U = '9P2000.u';
export const VERSION_9P2000_L = '9P2000.L';
export const VERSION_UNKNOWN = 'unknown';

// qid.type bits.
export const QTDIR = 0x80;
export const QTAPPEND = 0x40;
export const QTEXCL = 0x20;
export const QTMOUNT = 0x10;
export const QTAUTH = 0x08;
export const QTTMP = 0x04;
export const QTSYMLINK = 0x02;
export const QTLINK = 0x01;
export const QTFILE = 0x00;

// 9P2000 stat.mode / Tcreate perm bits; the top byte mirrors qid.type.
export const DMDIR = 0x80000000;
export const DMAPPEND = 0x40000000;
export const DMEXCL = 0x20000000;
export const DMMOUNT = 0x10000000;
export const DMAUTH = 0x08000000;
export const DMTMP = 0x04000000;
// .u extensions.
export const DMSYMLINK = 0x02000000;
export const DMLINK = 0x01000000;
export const DMDEVICE = 0x00800000;
export const DMNAMEDPIPE = 0x00200000;
export const DMSOCKET = 0x00100000;
export const DMSETUID = 0x00080000;
export const DMSETGID = 0x00040000;
export const DMREAD = 0x4;
export const DMWRITE = 0x2;
export const DMEXEC = 0x1;

// 9P2000 Topen/Tcreate mode[1].
export const OREAD = 0;
export const OWRITE = 1;
export const ORDWR = 2;
export const OEXEC = 3;
export const OTRUNC = 0x10;
export const OCEXEC = 0x20;
export const ORCLOSE = 0x40;
/** .u only. */
export const OAPPEND = 0x80;

// 9P2000.L Tlopen/Tlcreate flags[4] (Linux O_* as fixed by the protocol, not the host's).
export const L_O_RDONLY = 0o0;
export const L_O_WRONLY = 0o1;
export const L_O_RDWR = 0o2;
export const L_O_NOACCESS = 0o3;
export const L_O_ACCMODE = 0o3;
export const L_O_CREAT = 0o100;
export const L_O_EXCL = 0o200;
export const L_O_NOCTTY = 0o400;
export const L_O_TRUNC = 0o1000;
export const L_O_APPEND = 0o2000;
export const L_O_NONBLOCK = 0o4000;
export const L_O_DSYNC = 0o10000;
export const L_O_FASYNC = 0o20000;
export const L_O_DIRECT = 0o40000;
export const L_O_LARGEFILE = 0o100000;
export const L_O_DIRECTORY = 0o200000;
export const L_O_NOFOLLOW = 0o400000;
export const L_O_NOATIME = 0o1000000;
export const L_O_CLOEXEC = 0o2000000;
export const L_O_SYNC = 0o4000000;

// Linux st_mode file-type bits, used in .L mode fields and dirent types.
export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;

// Linux dirent d_type values for Rreaddir entries.
export const DT_UNKNOWN = 0;
export const DT_FIFO = 1;
export const DT_CHR = 2;
export const DT_DIR = 4;
export const DT_BLK = 6;
export const DT_REG = 8;
export const DT_LNK = 10;
export const DT_SOCK = 12;

// Tgetattr request_mask / Rgetattr valid (u64 on the wire; these fit a number).
export const P9_GETATTR_MODE = 0x00000001;
export const P9_GETATTR_NLINK = 0x00000002;
export const P9_GETATTR_UID = 0x00000004;
export const P9_GETATTR_GID = 0x00000008;
export const P9_GETATTR_RDEV = 0x00000010;
export const P9_GETATTR_ATIME = 0x00000020;
export const P9_GETATTR_MTIME = 0x00000040;
export const P9_GETATTR_CTIME = 0x00000080;
export const P9_GETATTR_INO = 0x00000100;
export const P9_GETATTR_SIZE = 0x00000200;
export const P9_GETATTR_BLOCKS = 0x00000400;
export const P9_GETATTR_BTIME = 0x00000800;
export const P9_GETATTR_GEN = 0x00001000;
export const P9_GETATTR_DATA_VERSION = 0x00002000;
export const P9_GETATTR_BASIC = 0x000007ff;
export const P9_GETATTR_ALL = 0x00003fff;

// Tsetattr valid[4].
export const P9_SETATTR_MODE = 0x00000001;
export const P9_SETATTR_UID = 0x00000002;
export const P9_SETATTR_GID = 0x00000004;
export const P9_SETATTR_SIZE = 0x00000008;
export const P9_SETATTR_ATIME = 0x00000010;
export const P9_SETATTR_MTIME = 0x00000020;
export const P9_SETATTR_CTIME = 0x00000040;
export const P9_SETATTR_ATIME_SET = 0x00000080;
export const P9_SETATTR_MTIME_SET = 0x00000100;

// Tlock/Tgetlock type[1], Tlock flags[4], Rlock status[1].
export const P9_LOCK_TYPE_RDLCK = 0;
export const P9_LOCK_TYPE_WRLCK = 1;
export const P9_LOCK_TYPE_UNLCK = 2;
export const P9_LOCK_FLAGS_BLOCK = 1;
export const P9_LOCK_FLAGS_RECLAIM = 2;
export const P9_LOCK_SUCCESS = 0;
export const P9_LOCK_BLOCKED = 1;
export const P9_LOCK_ERROR = 2;
export const P9_LOCK_GRACE = 3;

// Tunlinkat flags[4] and Txattrcreate flags[4].
export const AT_REMOVEDIR = 0x200;
export const XATTR_CREATE = 1;
export const XATTR_REPLACE = 2;

// Linux errno values (asm-generic/errno*.h), for Rlerror and .u Rerror.
export const EPERM = 1;
export const ENOENT = 2;
export const EINTR = 4;
export const EIO = 5;
export const ENXIO = 6;
export const E2BIG = 7;
export const EBADF = 9;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EACCES = 13;
export const EFAULT = 14;
export const EBUSY = 16;
export const EEXIST = 17;
export const EXDEV = 18;
export const ENODEV = 19;
export const ENOTDIR = 20;
export const EISDIR = 21;
export const EINVAL = 22;
export const ENFILE = 23;
export const EMFILE = 24;
export const EFBIG = 27;
export const ENOSPC = 28;
export const ESPIPE = 29;
export const EROFS = 30;
export const EMLINK = 31;
export const ERANGE = 34;
export const EDEADLK = 35;
export const ENAMETOOLONG = 36;
export const ENOLCK = 37;
export const ENOSYS = 38;
export const ENOTEMPTY = 39;
export const ELOOP = 40;
export const ENODATA = 61;
export const EPROTO = 71;
export const EBADMSG = 74;
export const EOVERFLOW = 75;
export const EMSGSIZE = 90;
export const EOPNOTSUPP = 95;
/** Same value as EOPNOTSUPP on Linux. */
export const ENOTSUP = 95;
export const ECONNRESET = 104;
export const ETIMEDOUT = 110;
export const ESTALE = 116;
export const ECANCELED = 125;
