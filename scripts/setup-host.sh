#!/usr/bin/env bash
# Set up a Debian 12 host for hepstack, as root: container engines, Charliecloud, base-image tools,
# a test user for rootless runs, and hepstack itself in a virtual environment (.venv in the checkout).
# Idempotent: run it again at any time; it only starts what is not running.
# Facts behind every step: docs/host-facts.md (cgroup hybrid mode, rlimits, runc + cgroupfs).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
test_user=${HEPSTACK_TEST_USER:-hepstack-test}

log() { printf '[setup] %s\n' "$*"; }
# shellcheck source=scripts/lib.sh
. "$here/scripts/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
    echo "error: setup-host.sh must run as root (it installs packages and starts dockerd)" >&2
    exit 1
fi

# --- packages -------------------------------------------------------------------------------------------
packages=(
    podman buildah skopeo runc uidmap fuse-overlayfs slirp4netns  # podman engine, rootful and rootless
    docker.io                                                      # docker engine (dockerd) + client
    charliecloud-runtime                                           # ch-run
    mmdebstrap debian-archive-keyring                              # bootstrap base layers without a registry
    squashfs-tools siftool                                         # exports: squashfs, SIF checks
    docker-registry apache2-utils                                  # a local registry (tests), htpasswd
    qemu-system-x86 qemu-utils                                     # VMs of a layer (hepstack vm run, qcow2)
    e2fsprogs fakeroot dosfstools mtools syslinux syslinux-common kmod  # their disks, made in user space
    python3-venv python3-dev sqlite3 sudo procps passwd ca-certificates
)
apt_install "${packages[@]}"

# --- podman: runc + cgroupfs (crun refuses hybrid cgroups), ulimits within the host's hard limits ----------
nofile=$(ulimit -Hn); nproc=$(ulimit -Hu)
[ "$nofile" = unlimited ] && nofile=1048576
[ "$nproc" = unlimited ] && nproc=32768
[ "$nproc" -gt 32768 ] && nproc=32768   # docs/host-facts.md: nproc above 32768 failed in containers
mkdir -p /etc/containers
cat > /etc/containers/containers.conf <<CONF
# written by hepstack scripts/setup-host.sh
[containers]
default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
# Short names like "debian:bookworm" must never reach out to a public registry by surprise.
if [ ! -f /etc/containers/registries.conf.d/50-hepstack.conf ]; then
    mkdir -p /etc/containers/registries.conf.d
    printf 'short-name-mode = "permissive"\n' > /etc/containers/registries.conf.d/50-hepstack.conf
fi

# --- docker engine in the background (no systemd) -------------------------------------------------------
if ! /usr/bin/docker info >/dev/null 2>&1; then
    log "starting dockerd"
    mkdir -p /var/log/hepstack
    nohup dockerd --exec-opt native.cgroupdriver=cgroupfs \
        --default-ulimit "nofile=${nofile}:${nofile}" --default-ulimit "nproc=${nproc}:${nproc}" \
        >/var/log/hepstack/dockerd.log 2>&1 &
    for _ in $(seq 1 60); do /usr/bin/docker info >/dev/null 2>&1 && break; sleep 0.5; done
    /usr/bin/docker info >/dev/null 2>&1 || { echo "error: dockerd did not start; see /var/log/hepstack/dockerd.log" >&2; exit 1; }
fi

# --- a non-root user for rootless podman, docker-group and Charliecloud tests -----------------------------
if ! id "$test_user" >/dev/null 2>&1; then
    log "creating test user $test_user"
    useradd --create-home --shell /bin/bash "$test_user"
fi
getent group docker >/dev/null || groupadd docker
usermod -aG docker "$test_user"
chgrp docker /var/run/docker.sock 2>/dev/null || true
chmod 660 /var/run/docker.sock 2>/dev/null || true
# Rootless storage: native overlay (kernel >= 5.13). Without it podman falls back to vfs (fuse-overlayfs
# needs /dev/fuse, mode 600 here), which copies the whole image for every container.
test_home=$(getent passwd "$test_user" | cut -d: -f6)
if [ ! -f "$test_home/.config/containers/storage.conf" ]; then
    mkdir -p "$test_home/.config/containers"
    printf '[storage]\ndriver = "overlay"\n' > "$test_home/.config/containers/storage.conf"
    chown -R "$test_user:" "$test_home/.config"
    runuser -u "$test_user" -- env HOME="$test_home" podman system reset -f >/dev/null 2>&1 || true
fi
grep -q "^${test_user}:" /etc/subuid || echo "${test_user}:200000:65536" >> /etc/subuid
grep -q "^${test_user}:" /etc/subgid || echo "${test_user}:200000:65536" >> /etc/subgid

# --- /dev/kvm for the group kvm, as Debian's udev rule makes it (no udev here: the node stays 0600 root) ---
getent group kvm >/dev/null || groupadd --system kvm
usermod -aG kvm "$test_user"
if [ -c /dev/kvm ]; then
    chgrp kvm /dev/kvm && chmod 660 /dev/kvm
fi

# --- servers for tests (loopback only): PostgreSQL, MariaDB, xrootd, sshd :2222, Chromium (docs/test-setup.md)
# Before the schedulers: SLURM's accounting (slurmdbd) keeps its records in that MariaDB.
bash "$here/scripts/setup-services.sh"

# --- batch schedulers (single-host SLURM and SGE) -----------------------------------------------------------
if [ -x "$here/scripts/setup-schedulers.sh" ]; then
    bash "$here/scripts/setup-schedulers.sh"
fi

# --- hepstack in a virtual environment -----------------------------------------------------------------
venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
    log "creating $venv"
    /usr/bin/python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q -e "$here[dev,postgres,mariadb,web]"  # web: the dashboard (hepstack serve)
# An editable install leaves compiling to the first import, which PYTHONDONTWRITEBYTECODE=1 turns into
# every import: ~1 ms per module on each `hepstack run` (benchmarks/run_overhead.py). Compile once here.
"$venv/bin/python" -m compileall -q "$here/src" >/dev/null
bash "$here/examples/lat/install-native.sh"   # the example release, natively (the study's baseline)
chmod -R a+rX "$venv" "$here"
log "ready: $("$venv/bin/hepstack" --version)"
