#!/bin/busybox sh
# The initramfs of a hepstack VM (docs/vm.md): load the modules a virtual disk, its file system, the
# network card and 9p need, find the root file system by its UUID, mount it and hand over to its init.
# Any failure powers the machine off with the reason on the console: a headless VM has nobody at a
# rescue shell, and `hepstack vm run` shows the console's last lines.
/bin/busybox mkdir -p /proc /sys /dev /root
/bin/busybox --install -s /bin
export PATH=/bin

fail() {
    echo "hepstack-vm initramfs: error: $*"
    sync
    poweroff -f
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

while read -r module; do
    insmod "/lib/modules/$module" 2>/dev/null || echo "hepstack-vm initramfs: $module not loaded"
done < /lib/modules/load-order

root=
init=/sbin/init
for word in $(cat /proc/cmdline); do
    case $word in
        root=*) root=${word#root=} ;;
        init=*) init=${word#init=} ;;
    esac
done
[ -n "$root" ] || fail "no root= on the kernel command line"

# The ext2/3/4 UUID of a block device: s_uuid, 16 bytes at 0x68 of the superblock (at 1024), read with
# dd and od because not every suite's busybox has findfs or blkid (bullseye's has neither).
uuid_of() {
    dd if="$1" bs=1 skip=1128 count=16 2>/dev/null | od -An -tx1 | sed 's/ //g'
}
find_root() {
    wanted=$(echo "${root#UUID=}" | sed 's/-//g')
    for entry in /sys/class/block/*; do
        name=${entry##*/}
        [ -b "/dev/$name" ] && [ "$(uuid_of "/dev/$name")" = "$wanted" ] && echo "/dev/$name" && return
    done
}
case $root in
    UUID=*) ;;
    /dev/*) find_root() { [ -b "$root" ] && echo "$root"; } ;;
    *) fail "root=$root: this initramfs finds the root file system by root=UUID=... or root=/dev/..." ;;
esac

# The disk appears when its driver has probed it: wait for it (at most 30 s), do not guess a delay.
device=
tries=0
while [ -z "$device" ]; do
    device=$(find_root)
    [ -n "$device" ] && break
    tries=$((tries + 1))
    if [ "$tries" -gt 300 ]; then
        echo "hepstack-vm initramfs: the kernel sees these block devices:"
        cat /proc/partitions
        fail "no disk with $root after 30 s (is the disk attached, and virtio, SCSI, SATA or NVMe?)"
    fi
    usleep 100000
done

mount -t ext4 -o rw "$device" /root || fail "cannot mount $device ($root) as ext4"
[ -x "/root$init" ] || fail "the root file system has no $init"
umount /proc /sys
mount --move /dev /root/dev 2>/dev/null || umount /dev
exec switch_root /root "$init"
