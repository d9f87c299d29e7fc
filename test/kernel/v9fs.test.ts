// The real Linux 9P client (v9fs, Debian's packaged kernel under qemu; test/kernel/harness.ts)
// against a node: the control tree and a writable export, each mounted with 9p2000.L, 9p2000.u
// and 9p2000 at msize 64 KiB and 1 MiB (12 mounts at once, 6 more after the reload), and a graft
// of diod (styx-provider proxy) mounted with 9p2000.L and 9p2000, all in one
// boot: reading, config writes, ctl, logs (cat, tail -n, tail -f), a styx-root reload while
// everything is mounted, the export's file operations, 1 MiB transfers and an fsx run per
// mount. Every guest step is one uvu test named "DIALECT msize SIZE: what". A missing kernel,
// qemu, static busybox or gcc fails the boot test with what to install (.ci/run installs them),
// never skips. ~90 s under TCG on 2 shared cores.
//
// Run alone:  node --import tsx test/kernel/v9fs.test.ts
//   CHESHIRE_KERNEL_VERBOSE=1   progress as it runs, and every step's output at the end
//   CHESHIRE_KERNEL_TRACE=1     one line per 9P message in .cache/kernel-client/trace-PORT.log
//   CHESHIRE_FSX_OPS=N, CHESHIRE_FSX_SEED=S   fsx length and seed (the seed is printed)
//   CHESHIRE_KERNEL_DEADLINE_MS=MS            the whole boot's limit (for long fsx runs)
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, normalize, sep } from 'node:path';
import { test } from 'uvu';
import { startDiod, type DiodServer } from '../helpers/diod.ts';
import { startStyxNode, type StyxNode } from '../helpers/styx-node.ts';
import { bootGuest, describeStep, GuestPlan, GUEST_DIR, staticBinary, type BootResult, type MountSpec } from './harness.ts';

const DIALECTS: MountSpec['version'][] = ['9p2000.L', '9p2000.u', '9p2000'];
const MSIZES = [64 * 1024, 1024 * 1024];
/** Operations of each fsx run (one per dialect and msize), and the seed of the first. */
const FSX_OPS = Number(process.env.CHESHIRE_FSX_OPS ?? 400);
const FSX_SEED = Number(process.env.CHESHIRE_FSX_SEED ?? Date.now() % 1_000_000);
/** The whole boot: ~80 s under TCG on 2 shared cores, up to twice that when they are busy. */
const BOOT_DEADLINE_MS = Number(process.env.CHESHIRE_KERNEL_DEADLINE_MS ?? 200_000);

interface Cfg {
  version: MountSpec['version'];
  msize: number;
  /** Short name for paths: L-64k, u-1M, 9p-64k... */
  tag: string;
  /** Test name prefix. */
  name: string;
}

const CFGS: Cfg[] = DIALECTS.flatMap((version) => MSIZES.map((msize) => {
  const size = msize >= 1 << 20 ? `${msize >> 20}M` : `${msize >> 10}k`;
  const d = version === '9p2000' ? '9p' : version.slice(-1);
  return { version, msize, tag: `${d}-${size}`, name: `${version} msize ${size.replace('k', ' KiB').replace('M', ' MiB')}` };
}));

interface Case {
  what: string;
  /** Shell for the guest (a mount case has none). */
  script?: string;
  /** A mount step instead: which variable names the mount point, and the aname. */
  mount?: { at: 'C' | 'E' | 'E2' | 'G'; aname: string };
  timeoutS?: number;
  when?: (c: Cfg) => boolean;
}

/** The configurations that also mount the graft of diod (one of each dialect family is enough). */
const graftCfg = (c: Cfg): boolean => c.tag === 'L-1M' || c.tag === '9p-64k';

const mounts: Case[] = [
  { what: 'mount the control tree', mount: { at: 'C', aname: '/' } },
  { what: 'mount the export', mount: { at: 'E', aname: '/export/rw' } },
  { what: 'mount the graft of diod', mount: { at: 'G', aname: '/export/graft' }, when: graftCfg },
];

// Steps run under `sh -e` in the guest with $C (the control tree's mount), $E (the export's
// mount), $E2 (the export mounted again after the reload), $G (the graft of diod's directory,
// styx-provider's proxy kind), $W (this configuration's own folder in the export), $DIALECT,
// $MSIZE, $TAG, $BIG_SHA, $MANY_SHA, $GRAFT_BIG_SHA, $FSX_OPS, $FSX_SEED and the helpers of
// guest/lib.sh (fail, expect_eq, expect_grep, hostreq).

const control: Case[] = [
  {
    what: 'mount: the msize asked for is the msize agreed',
    script: `
grep -E " ($C|$E) " /proc/mounts > /tmp/m
cat /tmp/m
expect_eq 'mounts with msize='"$MSIZE" "$(grep -c "msize=$MSIZE," /tmp/m)" 2
`,
  },
  {
    what: 'control: ls / and /modules',
    script: `
ls "$C" > /tmp/ls
for n in ctl failsafe log modules status; do grep -qx "$n" /tmp/ls || fail "/ lacks $n: $(tr '\\n' ' ' </tmp/ls)"; done
ls "$C/modules" > /tmp/ls
for n in greeter hello styx-root; do grep -qx "$n" /tmp/ls || fail "/modules lacks $n: $(tr '\\n' ' ' </tmp/ls)"; done
ls -l "$C/modules/hello" > /tmp/ls
cat /tmp/ls
expect_grep /tmp/ls '^-rw-rw-r-- .* config$'
expect_grep /tmp/ls '^-rw-rw-r-- .* ctl$'
expect_grep /tmp/ls '^-r--r--r-- .* status$'
stat -c %i "$C" > /tmp/root-ino-$TAG
`,
  },
  {
    what: 'control: cat /status, /modules/hello/status and deps',
    script: `
cat "$C/status" > /tmp/st
expect_grep /tmp/st '^node test role test pid [0-9]+ instances [0-9]+ key [0-9a-f]{64}$'
expect_grep /tmp/st '^hello active '
cat "$C/modules/hello/status" > /tmp/st
expect_grep /tmp/st '^id: hello$'
expect_grep /tmp/st '^state: active$'
cat "$C/modules/hello/deps" > /tmp/st
expect_grep /tmp/st '^requires greeter@'
`,
  },
  {
    what: 'control: read a config',
    script: `
cat "$C/modules/greeter/config" > /tmp/cf
cat /tmp/cf
expect_grep /tmp/cf '"greeting": ".+"'
`,
  },
  {
    what: 'control: write a valid config, read it back',
    script: `
echo "{\\"greeting\\": \\"Hi from $TAG\\"}" > "$C/modules/greeter/config"
cat "$C/modules/greeter/config" > /tmp/cf
expect_grep /tmp/cf "\\"greeting\\": \\"Hi from $TAG\\""
cat "$C/modules/greeter/revisions" > /tmp/rv
expect_grep /tmp/rv "Hi from $TAG"
`,
  },
  {
    what: 'control: a refused config fails the write and changes nothing',
    script: `
if echo '{"greeting": 7}' > "$C/modules/greeter/config" 2>/tmp/err; then fail "a number as greeting was accepted"; fi
echo "schema refusal: $(cat /tmp/err)"
if echo 'not json' > "$C/modules/greeter/config" 2>/tmp/err; then fail "a document that is not JSON was accepted"; fi
echo "not JSON: $(cat /tmp/err)"
cat "$C/modules/greeter/config" > /tmp/cf
expect_grep /tmp/cf "\\"greeting\\": \\"Hi from $TAG\\""
`,
  },
  {
    what: 'control: echo reload > /modules/hello/ctl',
    script: `
before=$(sed -n 's/^reloads: //p' "$C/modules/hello/status")
echo reload > "$C/modules/hello/ctl"
i=0
while :; do
  now=$(sed -n 's/^reloads: //p' "$C/modules/hello/status")
  [ "$now" -gt "$before" ] && grep -qx 'state: active' "$C/modules/hello/status" && break
  i=$((i + 1)); [ $i -lt 100 ] || fail "reloads stayed at $now (was $before)"
  sleep 0.1
done
echo "reloads $before -> $now"
`,
  },
  {
    // Issue 13: the kernel's read loop asks again until it gets 0 bytes, so a log that blocked at
    // its end made cat hang with nothing printed. The guest-side timeouts keep a hang from
    // stalling the run.
    what: 'control: cat and tail -n of /modules/hello/log end by themselves',
    timeoutS: 12,
    script: `
rc=0; timeout -s KILL 5 cat "$C/modules/hello/log" > /tmp/log || rc=$?
[ $rc = 0 ] || fail "cat of the log: exit $rc$([ $rc = 137 ] && echo ', killed after 5 s') after $(wc -c </tmp/log) bytes"
expect_grep /tmp/log 'listening on http'
rc=0; timeout -s KILL 5 tail -n 2 "$C/modules/hello/log" > /tmp/tail || rc=$?
[ $rc = 0 ] || fail "tail -n 2 of the log: exit $rc$([ $rc = 137 ] && echo ', killed after 5 s')"
cat /tmp/tail
expect_eq 'tail -n 2 lines' "$(wc -l </tmp/tail)" 2
`,
  },
  {
    what: 'control: tail -f of /modules/hello/log shows a line logged later',
    timeoutS: 20,
    script: `
: > /tmp/tailf
tail -f "$C/modules/hello/log" >> /tmp/tailf 2>&1 &
pid=$!
i=0
until grep -q 'listening on http' /tmp/tailf; do
  i=$((i + 1)); [ $i -lt 50 ] || { kill -9 $pid; fail "tail -f printed no backlog within 5 s: $(head -c 300 /tmp/tailf)"; }
  sleep 0.1
done
before=$(grep -c 'listening on http' /tmp/tailf)
echo reload > "$C/modules/hello/ctl"
i=0
until [ "$(grep -c 'listening on http' /tmp/tailf)" -gt "$before" ]; do
  i=$((i + 1)); [ $i -lt 100 ] || { kill -9 $pid; fail "tail -f showed no new line within 10 s"; }
  sleep 0.1
done
kill -9 $pid
wait $pid 2>/dev/null || true
tail -n 2 /tmp/tailf
`,
  },
  {
    // log.follow waits at its end (docs/9p.md, "Stream files"): cat prints each batch as it
    // comes, and a reader waiting in a Tread can be killed (Tflush) without hurting the mount.
    what: 'control: cat log.follow prints the backlog, then new lines; killing it leaves the mount working',
    timeoutS: 20,
    script: `
: > /tmp/follow
cat "$C/modules/hello/log.follow" >> /tmp/follow 2>&1 &
pid=$!
i=0
until grep -q 'listening on http' /tmp/follow; do
  i=$((i + 1)); [ $i -lt 50 ] || { kill -9 $pid; fail "no backlog within 5 s: $(head -c 300 /tmp/follow)"; }
  sleep 0.1
done
before=$(grep -c 'listening on http' /tmp/follow)
echo reload > "$C/modules/hello/ctl"
i=0
until [ "$(grep -c 'listening on http' /tmp/follow)" -gt "$before" ]; do
  i=$((i + 1)); [ $i -lt 100 ] || { kill -9 $pid; fail "no new line within 10 s"; }
  sleep 0.1
done
kill -9 $pid
wait $pid 2>/dev/null || true
tail -n 2 /tmp/follow
cat "$C/modules/hello/status" > /tmp/st
expect_grep /tmp/st '^state: active$'
`,
  },
];

const exportCases: Case[] = [
  {
    what: 'export: mkdir and stat a directory',
    script: `
mkdir "$W"
expect_eq type "$(stat -c %F "$W")" 'directory'
ls -la "$E"
`,
  },
  {
    what: 'export: create, write, append, read, overwrite',
    script: `
echo hello > "$W/a.txt"
expect_eq content "$(cat "$W/a.txt")" hello
printf more >> "$W/a.txt"
expect_eq size "$(stat -c %s "$W/a.txt")" 10
expect_eq content "$(cat "$W/a.txt")" "hello
more"
echo x > "$W/a.txt"
expect_eq 'size after O_TRUNC' "$(stat -c %s "$W/a.txt")" 2
expect_eq type "$(stat -c %F "$W/a.txt")" 'regular file'
`,
  },
  {
    what: 'export: stat, chmod, utimes, truncate',
    script: `
echo 0123456789 > "$W/s.txt"
chmod 640 "$W/s.txt"
expect_eq mode "$(stat -c %a "$W/s.txt")" 640
touch -t 202001020304.05 "$W/s.txt"
expect_eq mtime "$(stat -c %Y "$W/s.txt")" 1577934245
truncate -s 4 "$W/s.txt"
expect_eq 'truncated size' "$(stat -c %s "$W/s.txt")" 4
expect_eq 'truncated content' "$(cat "$W/s.txt")" 0123
truncate -s 100000 "$W/s.txt"
expect_eq 'extended size' "$(stat -c %s "$W/s.txt")" 100000
expect_eq 'extension reads zeros' "$(tail -c 10 "$W/s.txt" | od -An -tx1 | tr -d ' \\n')" 00000000000000000000
stat "$W/s.txt"
`,
  },
  {
    what: 'export: rename within a folder, into another, and of a folder',
    script: `
mkdir "$W/rn"
echo r > "$W/rn/r1"
mv "$W/rn/r1" "$W/rn/r2"
[ ! -e "$W/rn/r1" ] || fail "r1 still there"
expect_eq r2 "$(cat "$W/rn/r2")" r
mkdir "$W/rn/sub"
mv "$W/rn/r2" "$W/rn/sub/r3"
expect_eq r3 "$(cat "$W/rn/sub/r3")" r
[ ! -e "$W/rn/r2" ] || fail "r2 still there"
mv "$W/rn/sub" "$W/rn/sub2"
expect_eq 'in the renamed folder' "$(cat "$W/rn/sub2/r3")" r
[ ! -e "$W/rn/sub" ] || fail "sub still there"
`,
  },
  {
    // .L has Trenameat, which replaces like rename(2). 9P2000 and .u rename with Twstat, and
    // stat(5) makes renaming onto an existing name an error: the node answers EEXIST.
    what: 'export: rename over an existing file (replaces with .L, EEXIST with 9P2000/.u)',
    script: `
mkdir "$W/ro"
echo a > "$W/ro/x"; echo b > "$W/ro/y"
if [ "$DIALECT" = 9p2000.L ]; then
  mv "$W/ro/x" "$W/ro/y"
  expect_eq 'renamed over' "$(cat "$W/ro/y")" a
  [ ! -e "$W/ro/x" ] || fail "x still there"
else
  if mv "$W/ro/x" "$W/ro/y" 2>/tmp/err; then fail "renamed over an existing file"; fi
  cat /tmp/err
  grep -q 'File exists' /tmp/err || fail "not EEXIST"
  expect_eq x "$(cat "$W/ro/x")" a
  expect_eq y "$(cat "$W/ro/y")" b
fi
`,
  },
  {
    what: 'export: unlink',
    script: `
mkdir "$W/ul"
echo 1 > "$W/ul/f1"; echo 2 > "$W/ul/f2"
rm "$W/ul/f1" "$W/ul/f2"
[ ! -e "$W/ul/f1" ] && [ ! -e "$W/ul/f2" ] || fail "still there"
expect_eq 'empty folder' "$(ls -A "$W/ul")" ''
if rm "$W/ul/nosuch" 2>/dev/null; then fail "removing a missing file succeeded"; fi
hostreq "absent $TAG/ul/f1"
`,
  },
  {
    what: 'export: mkdir and rmdir (a non-empty folder is refused)',
    script: `
mkdir -p "$W/d1/d2"
rmdir "$W/d1/d2" "$W/d1"
[ ! -e "$W/d1" ] || fail "d1 still there"
mkdir "$W/ne"; touch "$W/ne/f"
if rmdir "$W/ne" 2>/tmp/err; then fail "a non-empty folder was removed"; fi
cat /tmp/err
rm -r "$W/ne"
[ ! -e "$W/ne" ] || fail "ne still there"
`,
  },
  {
    what: 'export: symlink, readlink, follow',
    when: (c) => c.version !== '9p2000',
    script: `
echo target > "$W/t"
ln -s t "$W/l"
echo "on the host: $(hostreq "readlink $TAG/l")"
expect_eq readlink "$(readlink "$W/l")" t
expect_eq 'through the link' "$(cat "$W/l")" target
rm "$W/l"
`,
  },
  {
    what: 'export: hard link',
    when: (c) => c.version === '9p2000.L',
    script: `
echo target > "$W/ht"
ln "$W/ht" "$W/h"
expect_eq links "$(stat -c %h "$W/ht")" 2
expect_eq 'same inode' "$(stat -c %i "$W/h")" "$(stat -c %i "$W/ht")"
rm "$W/h"
expect_eq 'links after rm' "$(stat -c %h "$W/ht")" 1
`,
  },
  {
    what: 'export: list a folder of 400 entries made on the host',
    // a glob reads the directory without a stat per entry (ls would walk and stat each one)
    script: `
for f in "$E/many"/*; do echo "\${f##*/}"; done > /tmp/many
expect_eq entries "$(wc -l < /tmp/many)" 400
expect_eq 'names (sha256 of the sorted list)' "$(sha256sum < /tmp/many | cut -d' ' -f1)" "$MANY_SHA"
`,
  },
  {
    what: 'export: 1 MiB copied through the mount, checked by sha256 here and on the host',
    script: `
cp "$E/big.bin" "$W/big.bin"
expect_eq 'size' "$(stat -c %s "$W/big.bin")" 1048576
expect_eq 'sha256 read back' "$(sha256sum < "$W/big.bin" | cut -d' ' -f1)" "$BIG_SHA"
expect_eq 'sha256 on the host' "$(hostreq "sha256 $TAG/big.bin")" "ok $BIG_SHA"
dd if=/dev/urandom of=/tmp/r.bin bs=1048576 count=1 2>/dev/null
dd if=/tmp/r.bin of="$W/r.bin" bs=1048576 2>/dev/null
cmp /tmp/r.bin "$W/r.bin"
expect_eq 'guest data on the host' "$(hostreq "sha256 $TAG/r.bin")" "ok $(sha256sum < /tmp/r.bin | cut -d' ' -f1)"
rm /tmp/r.bin
`,
    timeoutS: 60,
  },
  {
    what: `export: fsx, ${FSX_OPS} random writes, reads, truncates and reopens checked against a model`,
    script: `
echo "fsx $W/fsx.bin $FSX_OPS $FSX_SEED"
rc=0; /fsx "$W/fsx.bin" "$FSX_OPS" "$FSX_SEED" > /tmp/fsx.out || rc=$?
cat /tmp/fsx.out
[ $rc = 0 ] || fail "fsx: exit $rc"
expect_eq 'the file on the host' "$(hostreq "sha256 $TAG/fsx.bin")" "ok $(sha256sum < /tmp/fsx-model | cut -d' ' -f1)"
rm /tmp/fsx-model
`,
    timeoutS: Math.max(120, Math.ceil(FSX_OPS / 5)),
  },
  {
    what: 'export: rm -r of the folder',
    script: `
rm -r "$W"
[ ! -e "$W" ] || fail "still there"
hostreq "absent $TAG"
`,
  },
];

/** Started on every control mount right before styx-root reloads. */
const beforeReload: Case[] = [
  {
    what: 'control: a reader keeps reading /status (started before styx-root reloads)',
    script: `
( n=0
  while [ $n -lt 2000 ] && [ ! -e /tmp/stop-$TAG ]; do
    if cat "$C/status" >/tmp/read-$TAG 2>/tmp/readerr-$TAG && grep -q '^hello active' /tmp/read-$TAG; then echo ok
    else echo "fail $(cat /tmp/readerr-$TAG)"; fi
    n=$((n + 1)); sleep 0.3
  done > /tmp/reads-$TAG ) </dev/null >/dev/null 2>&1 &
i=0; until grep -q ok /tmp/reads-$TAG 2>/dev/null; do i=$((i + 1)); [ $i -lt 100 ] || fail "no read"; sleep 0.1; done
`,
  },
];

/**
 * The kernel through a graft (RemoteTree, fs/tree/remote) of diod serving another directory:
 * 9P2000 and 9P2000.L from the kernel, 9P2000.L to diod. Listings, stats, reads and changes
 * through the graft, and changes made on diod's side seen once the graft's attribute cache
 * (attrMs 1000, the default) has expired: the kernel mounts with cache=none, so what it shows is
 * what the graft answers.
 */
const graftCases: Case[] = [
  {
    what: 'graft: ls -l, stat and cat of what diod serves',
    when: graftCfg,
    script: `
for pass in 1 2; do
  expect_eq "entries (pass $pass)" "$(ls "$G/d" | wc -l)" 50
  ls -l "$G/d" > /tmp/ls
  expect_grep /tmp/ls '^-.* 3 .* f12$'
done
expect_eq 'f7' "$(cat "$G/d/f7")" 7
expect_eq 'size of f12' "$(stat -c %s "$G/d/f12")" 3
`,
  },
  {
    what: 'graft: a 1 MiB file reads whole',
    when: graftCfg,
    script: `
expect_eq 'sha256' "$(sha256sum < "$G/big.bin" | cut -d' ' -f1)" "$GRAFT_BIG_SHA"
`,
  },
  {
    what: "graft: create, write, rename and remove reach diod's directory",
    when: graftCfg,
    script: `
echo "through $TAG" > "$G/w-$TAG"
expect_eq 'on the host' "$(hostreq "graft-sha256 w-$TAG")" "ok $(echo "through $TAG" | sha256sum | cut -d' ' -f1)"
mv "$G/w-$TAG" "$G/d/m-$TAG"
hostreq "graft-absent w-$TAG"
expect_eq 'moved' "$(cat "$G/d/m-$TAG")" "through $TAG"
rm "$G/d/m-$TAG"
hostreq "graft-absent d/m-$TAG"
[ ! -e "$G/d/m-$TAG" ] || fail "m-$TAG still there"
`,
  },
  {
    what: "graft: a file replaced, then removed, on diod's side is seen once the attribute cache expired",
    when: graftCfg,
    script: `
hostreq "graft-write r-$TAG first"
expect_eq 'first' "$(cat "$G/r-$TAG")" first
hostreq "graft-write r-$TAG second-longer"
sleep 2
expect_eq 'replaced' "$(cat "$G/r-$TAG")" second-longer
expect_eq 'size' "$(stat -c %s "$G/r-$TAG")" 14
hostreq "graft-rm r-$TAG"
sleep 2
[ ! -e "$G/r-$TAG" ] || fail "r-$TAG still there after its removal on diod's side"
`,
  },
];

/** First after the reload, as the readers take the guest's only CPU while they run. */
const readersAfterReload: Case[] = [
  {
    what: 'after styx-root reload: the reader went on reading',
    script: `
n0=$(wc -l < /tmp/reads-$TAG)
i=0; while [ "$(wc -l < /tmp/reads-$TAG)" -lt $((n0 + 2)) ]; do i=$((i + 1)); [ $i -lt 100 ] || fail "the reader stopped after $n0 reads"; sleep 0.1; done
touch /tmp/stop-$TAG
echo "$(wc -l < /tmp/reads-$TAG) reads, $(grep -vc '^ok' /tmp/reads-$TAG) failed"
grep -v '^ok' /tmp/reads-$TAG | sort | uniq -c | head -n 5
tail -n 2 /tmp/reads-$TAG > /tmp/last
expect_eq 'the last 2 reads' "$(sort -u /tmp/last)" ok
`,
  },
];

const afterReload: Case[] = [
  {
    what: 'after styx-root reload: the control mount still lists and reads',
    script: `
ls "$C" > /tmp/ls
grep -qx status /tmp/ls || fail "/ lacks status: $(cat /tmp/ls)"
expect_eq 'root inode' "$(stat -c %i "$C")" "$(cat /tmp/root-ino-$TAG)"
cat "$C/status" > /tmp/st
expect_grep /tmp/st '^styx-root active .* reloads 1$'
cat "$C/modules/hello/status" > /tmp/st
expect_grep /tmp/st '^state: active$'
`,
  },
  {
    // The export is mounted with aname=/export/rw: its root fid is a node of the tree that
    // styx-root replaced, not the root that is handed over (docs/9p.md, "Reloading styx-root").
    what: 'after styx-root reload: the export mount still reads',
    script: `
ls "$E" > /tmp/ls
grep -qx big.bin /tmp/ls || fail "the export lost big.bin: $(cat /tmp/ls)"
expect_eq 'sha256' "$(sha256sum < "$E/big.bin" | cut -d' ' -f1)" "$BIG_SHA"
`,
  },
  { what: 'after styx-root reload: mount the export again', mount: { at: 'E2', aname: '/export/rw' } },
  {
    what: 'after styx-root reload: the new export mount reads and writes',
    script: `
expect_eq 'sha256' "$(sha256sum < "$E2/big.bin" | cut -d' ' -f1)" "$BIG_SHA"
echo after > "$E2/after-$TAG"
expect_eq 'on the host' "$(hostreq "sha256 after-$TAG")" "ok $(echo after | sha256sum | cut -d' ' -f1)"
rm "$E2/after-$TAG"
`,
  },
  {
    what: 'umount every mount',
    script: `
for m in "$C" "$E" "$E2"; do umount "$m" || echo "umount $m failed"; done
if grep -q " $G " /proc/mounts; then umount "$G"; fi
if grep -E " ($C|$E|$E2|$G) " /proc/mounts; then fail "still mounted"; fi
`,
  },
];

let node: StyxNode;
let exportDir: string;
/** diod's directory, grafted at /export/graft. */
let graftDir: string;
let diod: DiodServer | undefined;
let graftBigSha: string;
let run: BootResult | undefined;
let bigSha: string;
let manySha: string;

test.before(async () => {
  exportDir = await mkdtemp(join(tmpdir(), 'chs-v9fs-'));
  const big = randomBytes(1 << 20);
  bigSha = createHash('sha256').update(big).digest('hex');
  await writeFile(join(exportDir, 'big.bin'), big);
  // 400 entries with long names: over 64 KiB of directory entries, so readdir takes several rounds
  await mkdir(join(exportDir, 'many'));
  const names = Array.from({ length: 400 }, (_, i) => `${String(i).padStart(3, '0')}-${'n'.repeat(170)}`);
  for (const n of names) await writeFile(join(exportDir, 'many', n), '');
  manySha = createHash('sha256').update(names.sort().join('\n') + '\n').digest('hex');
  graftDir = await mkdtemp(join(tmpdir(), 'chs-v9fs-graft-'));
  const graftBig = randomBytes(1 << 20);
  graftBigSha = createHash('sha256').update(graftBig).digest('hex');
  await writeFile(join(graftDir, 'big.bin'), graftBig);
  await mkdir(join(graftDir, 'd'));
  for (let i = 0; i < 50; i++) await writeFile(join(graftDir, 'd', `f${i}`), `${i}\n`);
  diod = await startDiod(graftDir);
  node = await startStyxNode({
    copy: ['hello', 'greeter', 'styx-provider'],
    role: ['hello', 'greeter', 'styx-provider#rw', 'styx-provider#graft'],
    config: {
      hello: { port: 0 },
      'styx-provider#rw': { root: exportDir, writable: true },
      'styx-provider#graft': { server: 'proxy', address: `127.0.0.1:${diod.port}`, aname: graftDir },
    },
  });
});

test.after(async () => {
  await node?.close();
  await diod?.stop();
  if (exportDir) await rm(exportDir, { recursive: true, force: true });
  if (graftDir) await rm(graftDir, { recursive: true, force: true });
});

/** A path inside `dir` named by the guest, or undefined if it leaves it. */
function inside(dir: string, rel: string): string | undefined {
  const p = normalize(join(dir, rel));
  return p.startsWith(dir + sep) ? p : undefined;
}

async function answer(req: string): Promise<string> {
  const [verb = '', ...args] = req.split(' ');
  if (verb === 'reload' && args[0] === 'styx-root') {
    await node.th.host.reload('styx-root');
    const i = node.th.host.instances.get('styx-root');
    return i?.state === 'active' ? `ok reloads ${i.reloads}` : `error: styx-root is ${i?.state}: ${i?.lastError?.message}`;
  }
  if (verb.startsWith('graft-')) return answerFile(graftDir, "in diod's directory", verb.slice('graft-'.length), args);
  return answerFile(exportDir, 'on the host', verb, args);
}

/** Requests about a file of `dir`: sha256/readlink/absent REL, write REL TEXT (a new file in its place), rm REL. */
async function answerFile(dir: string, where: string, verb: string, [rel = '', ...text]: string[]): Promise<string> {
  const path = inside(dir, rel);
  if (!path) return `error: bad path ${rel}`;
  if (verb === 'sha256') return existsSync(path) ? `ok ${createHash('sha256').update(await readFile(path)).digest('hex')}` : `error: ${rel} missing ${where}`;
  if (verb === 'readlink') return readlink(path).then((t) => `ok ${t}`, (err: Error) => `error: ${err.message}`);
  if (verb === 'absent') return existsSync(path) ? `error: ${rel} still exists ${where}` : 'ok';
  if (verb === 'write') {
    await rm(path, { force: true });
    await writeFile(path, `${text.join(' ')}\n`);
    return 'ok';
  }
  if (verb === 'rm') return rm(path).then(() => 'ok', (err: Error) => `error: ${err.message}`);
  return `error: unknown request ${verb} ${rel}`;
}

const HOST_RELOAD = 'host: reload styx-root while everything is mounted';
/** The guest's order: every mount, the cases, readers, the reload, what must hold after it. */
const phases: Case[][] = [mounts, [...control, ...exportCases, ...graftCases], beforeReload, readersAfterReload, afterReload];
const casesOf = (c: Cfg): Case[] => phases.flat().filter((k) => !k.when || k.when(c));

function plan(): GuestPlan {
  const p = new GuestPlan();
  p.env({ BIG_SHA: bigSha, MANY_SHA: manySha, GRAFT_BIG_SHA: graftBigSha, FSX_OPS });
  p.file('fsx', staticBinary(join(GUEST_DIR, 'fsx.c')), 0o755);
  const dirs = (c: Cfg) => ({ C: `/mnt/ctl-${c.tag}`, E: `/mnt/exp-${c.tag}`, E2: `/mnt/exp2-${c.tag}`, G: `/mnt/graft-${c.tag}` });
  const env = (c: Cfg) => ({ FSX_SEED: FSX_SEED + CFGS.indexOf(c), DIALECT: c.version, MSIZE: c.msize, TAG: c.tag, ...dirs(c), W: `${dirs(c).E}/${c.tag}` });
  for (const phase of phases) {
    if (phase === readersAfterReload) p.host(HOST_RELOAD, 'reload styx-root');
    for (const c of CFGS) {
      p.env(env(c));
      for (const k of phase) {
        if (k.when && !k.when(c)) continue;
        const label = `${c.name}: ${k.what}`;
        if (k.mount) p.mount(label, { port: node.port, dir: dirs(c)[k.mount.at], version: c.version, msize: c.msize, opts: [`aname=${k.mount.aname}`] });
        else p.step(label, k.script!, { timeoutS: k.timeoutS ?? 20 });
      }
    }
  }
  return p;
}

test('one boot of the kernel client runs every case', async () => {
  const verbose = !!process.env.CHESHIRE_KERNEL_VERBOSE;
  run = await bootGuest({
    plan: plan(),
    deadlineMs: BOOT_DEADLINE_MS,
    onRequest: answer,
    onProgress: verbose ? (l) => console.log(l) : undefined,
  });
  const steps = [...run.steps.values()];
  console.log(`  kernel ${run.kernel} (${run.accel}): booted in ${run.bootMs} ms, whole run ${run.ms} ms, ${steps.length} steps reported, ${steps.filter((s) => !s.ok).length} failed`);
  for (const s of steps) if (/: fsx, /.test(s.label)) console.log(`  ${s.label.replace(/: .*/, '')}: ${s.output.split('\n').find((l) => l.startsWith('fsx: ')) ?? `exit ${s.rc}`}`);
  if (verbose) for (const s of steps) console.log(`--- ${s.ok ? 'ok' : `FAIL (exit ${s.rc})`} ${s.label} (${s.ms} ms)${s.output ? `\n${s.output}` : ''}`);
  if (!run.done) {
    throw new Error(`the guest did not finish: ${run.reason}; ${run.missing.length} steps never reported, the first: ${run.missing[0]}\nconsole (last lines; all of it in .cache/kernel-client/last-console.log):\n${run.console.split('\n').slice(-20).join('\n')}`);
  }
});

// One test per guest step, declared up front (uvu needs the list before it runs).
const check = (label: string) => () => {
  if (!run) throw new Error('no boot (see the first test)');
  if (!run.steps.get(label)?.ok) throw new Error(describeStep(run, label));
};
for (const c of CFGS) for (const k of casesOf(c)) test(`${c.name}: ${k.what}`, check(`${c.name}: ${k.what}`));
test(HOST_RELOAD, check(HOST_RELOAD));

test.run();
