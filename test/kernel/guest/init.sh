#!/bin/busybox sh
# PID 1 of the kernel-client guest (test/kernel/harness.ts builds the initramfs around it).
# Loads the 9p and virtio-serial modules, opens the control port "chs-ctl" on fd 7, runs
# /plan.sh (mounts and steps the test generated, with the helpers of /lib.sh), reports "@done"
# and powers off. Every report goes to the control port, one line each; the console only
# carries the kernel's own messages and whatever goes wrong before the port is open.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t devtmpfs dev /dev 2>/dev/null
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs tmp /tmp
exec </dev/null >/dev/console 2>&1

stop() { echo "=== guest stops: $*"; sync; poweroff -f; sleep 10; }

for m in $(cat /mods/order); do
  insmod "/mods/$m.ko" || stop "insmod $m failed"
done

# /dev/vportNpM of the virtio port qemu named $1 (waits up to 10 s for it to appear)
portdev() {
  _i=0
  while [ $_i -lt 100 ]; do
    for _f in /sys/class/virtio-ports/*/name; do
      if [ "$(cat "$_f" 2>/dev/null)" = "$1" ]; then
        _d=/dev/$(basename "$(dirname "$_f")")
        [ -c "$_d" ] && { echo "$_d"; return 0; }
      fi
    done
    _i=$((_i + 1))
    sleep 0.1
  done
  return 1
}

echo "=== guest: modules loaded"
ctl=$(portdev chs-ctl) || stop "no virtio port named chs-ctl"
exec 7<>"$ctl"
echo "=== guest: control port $ctl open"
. /lib.sh
say "@hello $(uname -r)"
. /plan.sh
say "@done"
stop "plan finished"
