# Helpers for the guest's plan and its steps (sourced by /init and by every step).
# fd 7 is the control port to the host: one line per report.

say() { printf '%s\n' "$*" >&7; }

# fail MESSAGE: ends a step with a message
fail() { echo "FAIL: $*" >&2; exit 1; }

# expect_eq WHAT GOT WANT
expect_eq() { [ "$2" = "$3" ] || fail "$1: got [$2], want [$3]"; }

# expect_grep FILE PATTERN (extended regexp) - shows the file when it does not match
expect_grep() {
  grep -Eq -- "$2" "$1" || { echo "--- $1:"; head -c 2000 "$1"; echo; fail "$1 does not match /$2/"; }
}

# hostreq REQUEST: asks the host (bootGuest's onRequest), prints the answer; fails unless it starts with "ok"
hostreq() {
  say "@req $*"
  IFS= read -r _answer <&7 || fail "no answer from the host"
  echo "$_answer"
  case "$_answer" in ok*) return 0 ;; *) return 1 ;; esac
}

# run_step TIMEOUT LABEL FILE: runs FILE under sh -e with these helpers, killed after TIMEOUT s
run_step() {
  say "@begin $2"
  timeout -s KILL "$1" sh -ec '. /lib.sh; . "$0"' "$3" </dev/null >/tmp/step.out 2>&1
  _rc=$?
  head -c 16000 /tmp/step.out | while IFS= read -r _l || [ -n "$_l" ]; do say "@out $_l"; done
  if [ "$_rc" = 0 ]; then say "@ok $2"; else say "@fail $_rc $2"; fi
}

# mount9p LABEL PORT DIR OPTS: mounts the 9P server behind virtio port PORT at DIR (a step).
# trans=fd needs read_iter/write_iter, which virtio ports lack (EINVAL "kernel write not
# supported"), so two cats relay the port through FIFOs; the mount opens each FIFO one way
# (with read-write opens the fd transport polls more wait queues than it can, and writes over
# 64 KiB never wake). The cats open the FIFOs themselves: the kernel sets O_NONBLOCK on the
# files handed to it.
mount9p() {
  _dev=$(portdev "$2") || { say "@begin $1"; say "@out no virtio port named $2"; say "@fail 1 $1"; return; }
  mkfifo "/tmp/$2.in" "/tmp/$2.out"
  mkdir -p "$3"
  ( exec 3<>"$_dev"; cat <&3 >"/tmp/$2.in" & exec cat <"/tmp/$2.out" >&3 ) </dev/null >/dev/null 2>&1 &
  cat >"/tmp/$2.mount.sh" <<MOUNT
if ! mount -t 9p -o trans=fd,rfdno=4,wfdno=5,$4 none $3 4</tmp/$2.in 5>/tmp/$2.out; then
  dmesg | grep -E '9p|v9fs' | tail -n 5
  exit 1
fi
grep " $3 " /proc/mounts
MOUNT
  run_step 30 "$1" "/tmp/$2.mount.sh"
}
