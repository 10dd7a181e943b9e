#!/usr/bin/env bash
# Boots a Debian kernel under qemu (TCG) with the host root shared read-only over
# virtio-9p and a pure cgroup2 hierarchy, and runs the guest scripts inside it,
# one after the other in the same boot (the boot is the slow part): guest.cjs
# (the omnitide kernel API, prints "OMNI_VM_RESULT {json}") and chaos-guest.cjs
# (the chaos engine's netem and cgroup-limits faults, prints
# "OMNI_VM_CHAOS_RESULT {json}"). OMNI_VM_GUESTS picks a subset.
#
# Needs: qemu-system-x86 (apt), and downloads linux-image-amd64 + busybox-static
# .debs with `apt-get download` into $OMNI_VM_CACHE (default /var/cache/omnitide-vm).
# Nothing is installed on the host; all files live in the cache and a temp dir.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../../.." && pwd)"
CACHE="${OMNI_VM_CACHE:-/var/cache/omnitide-vm}"
TIMEOUT="${OMNI_VM_TIMEOUT:-480}"
GUESTS="${OMNI_VM_GUESTS:-guest.cjs chaos-guest.cjs}"
mkdir -p "$CACHE"
command -v qemu-system-x86_64 >/dev/null || { echo "OMNI_VM_MISSING qemu-system-x86_64 (apt-get install qemu-system-x86)"; exit 3; }

if ! ls "$CACHE"/x/boot/vmlinuz-* >/dev/null 2>&1 || [ ! -x "$CACHE/x/bin/busybox" ]; then
  (cd "$CACHE"
   img=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/{print $2; exit}')
   apt-get download "$img" busybox-static >/dev/null 2>&1 || { echo "OMNI_VM_MISSING apt-get download $img busybox-static failed"; exit 3; }
   mkdir -p x && for d in ./*.deb; do dpkg-deb -x "$d" x; done)
fi
VMLINUZ=$(ls "$CACHE"/x/boot/vmlinuz-* | head -1)
KVER=$(basename "$VMLINUZ" | sed 's/^vmlinuz-//')
MODDIR="$CACHE/x/lib/modules/$KVER/kernel"

WORK=$(mktemp -d /tmp/omni-vm.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
INITRD="$WORK/root"
mkdir -p "$INITRD"/{bin,proc,sys,dev,host,lib/modules}
cp "$CACHE/x/bin/busybox" "$INITRD/bin/busybox"
MODS="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci netfs fscache 9pnet 9pnet_virtio 9p virtio_blk veth sch_netem"
for m in $MODS; do
  f=$(find "$MODDIR" -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" | head -1)
  [ -n "$f" ] || { echo "OMNI_VM_MISSING module $m"; exit 3; }
  case "$f" in
    *.xz) xz -dc "$f" > "$INITRD/lib/modules/$m.ko" ;;
    *.zst) zstd -dcq "$f" > "$INITRD/lib/modules/$m.ko" ;;
    *) cp "$f" "$INITRD/lib/modules/$m.ko" ;;
  esac
done
cat > "$INITRD/init" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $MODS; do insmod /lib/modules/\$m.ko || echo "insmod \$m failed"; done
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144 hostroot /host || echo "OMNI_VM_MISSING 9p mount"
mount -t tmpfs tmp /host/tmp
# The project itself gets its own export, mounted at its host path after the
# tmpfs: a checkout under /tmp (or any other mount) is otherwise invisible.
mkdir -p /host$REPO 2>/dev/null
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144 project /host$REPO || echo "OMNI_VM_MISSING project 9p mount"
mount -t proc proc /host/proc
mount -t sysfs sys /host/sys
mount -t devtmpfs dev /host/dev
mount -t cgroup2 cgroup2 /host/sys/fs/cgroup
# a writable /run of the guest's own (ip netns keeps its namespaces in /run/netns)
mount -t tmpfs run /host/run
echo "OMNI_VM_BOOTED \$(cat /proc/uptime)"
for g in $GUESTS; do
  chroot /host /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp $(command -v node) $REPO/test/kernel/vm/\$g $REPO
  echo "OMNI_VM_EXIT \$g \$?"
done
poweroff -f
INIT
chmod +x "$INITRD/init"
(cd "$INITRD" && find . | "$CACHE/x/bin/busybox" cpio -o -H newc 2>/dev/null | gzip -1 > "$WORK/initrd.gz")
truncate -s 64M "$WORK/disk.img"

timeout "$TIMEOUT" qemu-system-x86_64 -accel tcg -m 1024 -smp 1 -nographic -no-reboot \
  -kernel "$VMLINUZ" -initrd "$WORK/initrd.gz" \
  -append "console=ttyS0 panic=-1 quiet rdinit=/init psi=1" \
  -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
  -virtfs local,path="$REPO",mount_tag=project,security_model=none,readonly=on,multidevs=remap \
  -drive file="$WORK/disk.img",if=virtio,format=raw \
  -nic none </dev/null 2>&1 | tr -d '\r'
