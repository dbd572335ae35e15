#!/usr/lib/hepstack-vm/busybox sh
# PID 1 of a hepstack VM (docs/vm.md). A small init instead of systemd: mount the kernel's file
# systems, bring up the network by DHCP, mount the shared directories, then either run one command as
# the developer (its output and exit status go back to `hepstack vm run` through the control share) or
# give the developer a login shell on the console. The machine powers off when that is done.
#
# /etc/hepstack/vm.conf (written when the disk was made) names the developer account; the control share
# (9p tag "hepstack", only when `hepstack vm run` boots the VM) brings a session file and the command.
bb=/usr/lib/hepstack-vm/busybox
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
say() { echo "hepstack-vm: $*"; }

$bb mount -t proc -o nosuid,nodev,noexec proc /proc
$bb mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
$bb grep -q '^devtmpfs /dev ' /proc/mounts || $bb mount -t devtmpfs -o nosuid devtmpfs /dev
$bb mkdir -p /dev/pts /dev/shm /run /tmp
$bb mount -t devpts -o nosuid,noexec,gid=5,mode=620,ptmxmode=666 devpts /dev/pts
$bb mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs /dev/shm
$bb mount -t tmpfs -o nosuid,nodev,mode=755 tmpfs /run
$bb chmod 1777 /tmp
[ -d /sys/fs/cgroup ] && $bb mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 /sys/fs/cgroup 2>/dev/null
$bb ln -sf /proc/self/fd /dev/fd
$bb ln -sf /proc/self/fd/0 /dev/stdin
$bb ln -sf /proc/self/fd/1 /dev/stdout
$bb ln -sf /proc/self/fd/2 /dev/stderr
$bb mkdir -p /run/lock /run/user
[ -f /etc/hostname ] && $bb hostname -F /etc/hostname
$bb ip link set lo up
# QEMU's user network answers at once; a LAN's server gets 10 tries of 1 s.
$bb udhcpc -i eth0 -s /usr/lib/hepstack-vm/dhcp -q -n -t 10 -T 1 >/dev/null 2>&1 || say "no DHCP lease on eth0: no network"
# modprobe finds what /lib/modules holds; kmod's indexes are made with the disk (depmod).

. /etc/hepstack/vm.conf
vm_mode=console
vm_as_root=0
vm_term=${TERM:-linux}
vm_rows=
vm_cols=
vm_wrap=
control=/run/hepstack
share() {
    $bb mkdir -p "$2" && $bb mount -t 9p -o "trans=virtio,version=9p2000.L,msize=512000,$3" "$1" "$2" \
        || say "could not mount the shared directory $2 (9p tag $1)"
}
$bb mkdir -p "$control"
if $bb mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 hepstack "$control" 2>/dev/null; then
    . "$control/session"
else
    control=
fi

# The session's developer is whoever ran `hepstack vm run`, not necessarily whom the disk was made for (a
# release manager exports one disk for many): their account replaces any of the same name or uid.
adopt_account() {
    [ "$vm_uid" = 0 ] && return
    $bb awk -F: -v n="$vm_user" -v u="$vm_uid" -v g="$vm_gid" \
        '$1 == n && $3 == u && $4 == g { found = 1 } END { exit !found }' /etc/passwd && return
    $bb awk -F: -v n="$vm_user" -v u="$vm_uid" '$1 != n && $3 != u' /etc/passwd > /etc/passwd.new
    echo "$vm_user:x:$vm_uid:$vm_gid:hepstack developer:$vm_home:$vm_shell" >> /etc/passwd.new
    $bb chmod 644 /etc/passwd.new && $bb mv /etc/passwd.new /etc/passwd
    if [ -f /etc/shadow ]; then
        $bb awk -F: -v n="$vm_user" '$1 != n' /etc/shadow > /etc/shadow.new
        echo "$vm_user:!:19000:0:99999:7:::" >> /etc/shadow.new
        $bb chmod 640 /etc/shadow.new && $bb mv /etc/shadow.new /etc/shadow
    fi
    $bb awk -F: -v g="$vm_gid" '$3 == g { found = 1 } END { exit !found }' /etc/group \
        || echo "$vm_user:x:$vm_gid:" >> /etc/group
    if [ ! -d "$vm_home" ]; then
        $bb mkdir -p "$vm_home"
        [ -d /etc/skel ] && $bb cp -a /etc/skel/. "$vm_home/"
        $bb chown -R "$vm_uid:$vm_gid" "$vm_home"
    fi
}
[ -n "$control" ] && adopt_account

# As the developer (or root when asked): a clean environment with the layer's variables, then su keeps
# it (-p), then the login shell applies /etc/profile and the layer's profile scripts, as `hepstack run`
# does in a container.
launch() {
    if [ "$vm_as_root" = 1 ] || [ "$vm_uid" = 0 ]; then
        set -- env -i HOME=/root USER=root LOGNAME=root SHELL=/bin/sh TERM="$vm_term" \
            PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
            $bb sh -c '. /etc/hepstack/environment && exec /bin/sh -c "$1"' launch "$1"
    else
        set -- env -i HOME="$vm_home" USER="$vm_user" LOGNAME="$vm_user" SHELL="$vm_shell" TERM="$vm_term" \
            PATH=/usr/local/bin:/usr/bin:/bin \
            $bb sh -c '. /etc/hepstack/environment && exec "$@"' launch $bb su -p -s /bin/sh "$vm_user" -c "$1"
    fi
    $vm_wrap "$@"
}

power_off() {
    $bb sync
    $bb mount -o remount,ro / 2>/dev/null
    $bb poweroff -f
}

if [ -n "$control" ] && [ "$vm_mode" = command ]; then
    $bb cut -d' ' -f1 /proc/uptime > "$control/ready"
    launch "exec /bin/sh -l $control/command" > "$control/stdout" 2> "$control/stderr" < /dev/null
    echo "$?" > "$control/status.new"
    $bb mv "$control/status.new" "$control/status"
    power_off
fi

[ -n "$control" ] && $bb cut -d' ' -f1 /proc/uptime > "$control/ready"
console=$($bb sed 's/.* //' /sys/class/tty/console/active 2>/dev/null)
if [ -n "$vm_rows" ] && [ -n "$console" ]; then
    $bb stty -F "/dev/$console" rows "$vm_rows" cols "$vm_cols" 2>/dev/null
fi
home=$vm_home
[ "$vm_as_root" = 1 ] && home=/root
cd "$home" 2>/dev/null || cd /
say "logged in on the console as $([ "$vm_as_root" = 1 ] && echo root || echo "$vm_user"); exit the shell to power off"
# A session of its own with the console's tty as its controlling terminal (job control, Ctrl-C).
vm_wrap="$bb setsid $bb cttyhack"
launch "cd ~ 2>/dev/null; exec $vm_shell -l"
power_off
