#!/usr/bin/env bash
# Single-host SLURM and single-host SGE (Son of Grid Engine, the UGE stand-in) for hepstack's batch
# tests, as root on Debian 12. Idempotent: installs what is missing, writes the configs, starts only
# the daemons that are not answering. No systemd: daemons run in the background.
# Every step follows docs/host-facts.md ("SLURM on one host", "Son of Grid Engine on one host").
# Jobs are submitted by a non-root user (HEPSTACK_TEST_USER, default hepstack-test).
set -euo pipefail

log() { printf '[schedulers] %s\n' "$*"; }
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
    echo "error: setup-schedulers.sh must run as root (it installs packages and starts daemons)" >&2
    exit 1
fi

host=$(hostname)
logdir=/var/log/hepstack
mkdir -p "$logdir"

# --- packages ------------------------------------------------------------------------------------------
# gridengine asks debconf questions; preseed them (docs/host-facts.md) so the install is unattended.
debconf-set-selections <<PRESEED
gridengine-common shared/gridengineconfig boolean true
gridengine-common shared/gridenginemaster string $host
gridengine-common shared/gridenginecell string default
gridengine-client shared/gridengineconfig boolean true
gridengine-client shared/gridenginemaster string $host
gridengine-client shared/gridenginecell string default
gridengine-master shared/gridengineconfig boolean true
gridengine-master shared/gridenginemaster string $host
gridengine-master shared/gridenginecell string default
gridengine-exec shared/gridengineconfig boolean true
gridengine-exec shared/gridenginemaster string $host
gridengine-exec shared/gridenginecell string default
PRESEED
packages=(slurm-wlm slurmdbd munge gridengine-master gridengine-exec gridengine-client)
apt_install "${packages[@]}"

# --- munge (SLURM's authentication) ----------------------------------------------------------------------
if [ ! -s /etc/munge/munge.key ]; then
    log "creating the munge key"
    mungekey -c -f -k /etc/munge/munge.key
fi
chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
mkdir -p /run/munge && chown munge:munge /run/munge
if ! munge -n >/dev/null 2>&1; then
    log "starting munged"
    runuser -u munge -- /usr/sbin/munged
    for _ in $(seq 1 20); do munge -n >/dev/null 2>&1 && break; sleep 0.2; done
fi

# --- SLURM -------------------------------------------------------------------------------------------------
# docs/host-facts.md: linuxproc process tracking and no task plugin (cgroups are hybrid here), cons_tres, one node
# with 2 CPUs, partition debug oversubscribed 4x so a 20-task array of short jobs does not crawl.
# Accounting: slurmdbd on the MariaDB of setup-services.sh, so sacct reports finished jobs' State and
# ExitCode. NoInAddrAny: slurmd and slurmdbd bind to the address $host resolves to (127.0.0.1 here), not
# to every address (slurm.conf(5): it does not apply to slurmctld, which still listens on all).
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
slurm_conf=$(cat <<CONF
# written by hepstack scripts/setup-schedulers.sh (single-host test cluster)
ClusterName=hepstack
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=default_queue_depth=1000
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=$host
CommunicationParameters=NoInAddrAny
MinJobAge=600
MaxArraySize=10001
BatchStartTimeout=300
MessageTimeout=60
NodeName=$host CPUs=2 RealMemory=20000 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
PartitionName=scale Nodes=$host Default=NO MaxTime=INFINITE State=UP OverSubscribe=FORCE:128
CONF
)
# Partition scale (tests of `hepstack scale` only, docs/test-setup.md; not a site recommendation): up to
# 128 jobs per core, 256 at once on 2 cores, so 200 concurrent light jobs start together. The defaults
# hold them (MaxJobCount 10000, MaxTasksPerNode 512; the test user's nproc 96363 and nofile 20000), but
# the main scheduler tries only default_queue_depth=100 jobs per pass (measured: 101 of a 200-task array
# started, the rest only as those ended), hence 1000. BatchStartTimeout (default 10 s): a launch slower
# than that, when slurmd next registers, is taken for a lost job and requeued, then held (measured: 200
# concurrent light jobs on this one slurmd, 21 and 26 tasks of two arrays `launch failed requeued held`);
# 300 s covers a node launching 200 jobs at once. MessageTimeout (default 10 s): slurmctld's launch RPC
# to a slurmd busy with 200 podman starts timed out ("Socket timed out on send/recv operation"), slurmd
# then gave up ("Could not confirm batch launch for job N") and the task was requeued and held: 60 s. A change of the partition or scheduler-parameter
# lines alone is applied with `scontrol reconfigure`, without a restart.
restart_slurm=0
old_slurm_conf=$(cat /etc/slurm/slurm.conf 2>/dev/null || true)
if write_if_changed /etc/slurm/slurm.conf 0644 root:root "$slurm_conf"; then
    log "wrote /etc/slurm/slurm.conf"
    if [ "$(grep -Ev '^(PartitionName|SchedulerParameters)=' <<<"$old_slurm_conf")" \
        = "$(grep -Ev '^(PartitionName|SchedulerParameters)=' <<<"$slurm_conf")" ] \
        && pgrep -x slurmctld >/dev/null && scontrol reconfigure >/dev/null 2>&1; then
        log "slurm: partitions or scheduler parameters changed: reconfigured (scontrol reconfigure)"
    else
        restart_slurm=1
    fi
fi

# slurmdbd: its config holds the database password, so root (its SlurmUser) only, 0600 (slurmdbd.conf(5)).
# MariaDB and its account slurm come from setup-services.sh (setup-host.sh runs it first).
slurm_db_cnf=/etc/hepstack/secrets/mariadb-slurm.cnf
if [ ! -s "$slurm_db_cnf" ] || ! mariadb-admin -u root --connect-timeout=5 ping >/dev/null 2>&1; then
    bash "$(dirname "$0")/setup-services.sh" mariadb
fi
slurmdbd_conf=$(cat <<CONF
# written by hepstack scripts/setup-schedulers.sh (the password comes from $slurm_db_cnf)
AuthType=auth/munge
DbdHost=$host
DbdPort=6819
CommunicationParameters=NoInAddrAny
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=3306
StorageUser=slurm
StoragePass=$(sed -n 's/^password=//p' "$slurm_db_cnf")
StorageLoc=slurm_acct_db
LogFile=/var/log/slurm/slurmdbd.log
PidFile=/run/slurmdbd.pid
CONF
)
# stop_daemon NAME PIDFILE: SIGTERM, then wait for that process to be gone.
stop_daemon() {
    local pid
    pid=$(cat "$2" 2>/dev/null || pgrep -x "$1" || true)
    [ -n "$pid" ] || return 0
    kill "$pid" 2>/dev/null || return 0
    wait_until 60 sh -c "! kill -0 $pid" || die "$1 (pid $pid) did not stop; see /var/log/slurm/$1.log"
}
if write_if_changed /etc/slurm/slurmdbd.conf 0600 root:root "$slurmdbd_conf" && pgrep -x slurmdbd >/dev/null; then
    log "restarting slurmdbd: /etc/slurm/slurmdbd.conf changed"
    stop_daemon slurmdbd /run/slurmdbd.pid
fi
if ! pgrep -x slurmdbd >/dev/null; then
    log "starting slurmdbd"
    slurmdbd
fi
# sacctmgr answers once slurmdbd is connected to its database (the first start creates the tables).
wait_until 120 sacctmgr -n list cluster || die "slurmdbd does not answer; see /var/log/slurm/slurmdbd.log"
if ! sacctmgr -n -P list cluster format=Cluster | grep -qx hepstack; then
    log "registering cluster hepstack with slurmdbd"
    sacctmgr -i add cluster hepstack >/dev/null
fi

# AccountingStorageType and the listening addresses change only with a restart (scontrol reconfigure is
# not enough); running jobs carry on (their slurmstepd are separate processes) and queued ones are in
# StateSaveLocation.
if [ "$restart_slurm" = 1 ]; then
    for daemon in slurmctld slurmd; do
        if pgrep -x "$daemon" >/dev/null; then
            log "restarting $daemon: /etc/slurm/slurm.conf changed"
            stop_daemon "$daemon" "/run/$daemon.pid"
        fi
    done
fi
if ! pgrep -x slurmctld >/dev/null; then
    log "starting slurmctld"
    slurmctld
fi
if ! pgrep -x slurmd >/dev/null; then
    log "starting slurmd"
    slurmd
fi
for _ in $(seq 1 40); do
    state=$(sinfo -h -N -o '%T' 2>/dev/null | head -1)
    case "$state" in idle*|mix*|alloc*) break ;; esac
    sleep 0.25
done
case "${state:-}" in
    idle*|mix*|alloc*) ;;
    *) scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true ;;
esac
log "slurm: node $host is $(sinfo -h -N -o '%T' | head -1)"

# --- SGE ---------------------------------------------------------------------------------------------------
export SGE_ROOT=/var/lib/gridengine SGE_CELL=default
common=$SGE_ROOT/default/common
mkdir -p "$common"
[ -s "$common/act_qmaster" ] || echo "$host" > "$common/act_qmaster"
# docs/host-facts.md: 127.0.0.1 resolves back to localhost, which qmaster would reject as "not identical".
echo "$host localhost" > "$common/host_aliases"
sge_up() { qstat -f >/dev/null 2>&1; }
if ! sge_up; then
    # The init scripts are not idempotent (docs/host-facts.md): stop any half-started qmaster first.
    pkill -x sge_qmaster 2>/dev/null || true
    pkill -x sge_execd 2>/dev/null || true
    log "starting the SGE qmaster"
    /etc/init.d/gridengine-master start >"$logdir/sge-master.log" 2>&1 || true
    for _ in $(seq 1 40); do qconf -sh >/dev/null 2>&1 && break; sleep 0.25; done
    qconf -sh >/dev/null 2>&1 || { echo "error: sge_qmaster did not start; see $logdir/sge-master.log" >&2; exit 1; }
    scratch=$(mktemp -d)
    qconf -ssconf | sed -e 's/^schedule_interval .*/schedule_interval 0:0:1/' > "$scratch/sched"
    qconf -Msconf "$scratch/sched" >/dev/null
    qconf -ah "$host" >/dev/null 2>&1 || true
    qconf -as "$host" >/dev/null 2>&1 || true
    if ! qconf -sq all.q >/dev/null 2>&1; then
        qconf -sq | sed -e "s/^qname .*/qname all.q/" -e "s/^hostlist .*/hostlist $host/" \
            -e "s/^slots .*/slots 4/" -e "s/^pe_list .*/pe_list NONE/" -e "s|^shell .*|shell /bin/sh|" \
            > "$scratch/all.q"
        qconf -Aq "$scratch/all.q" >/dev/null
    fi
    rm -rf "$scratch"
fi
# Global config: write accounting records at once, so `qacct -j` sees a finished job (docs/host-facts.md).
# accounting_flush_time is one of reporting_params (sge_conf(5)); as a line of its own qconf drops it,
# and qacct lagged up to flush_time (15 s) behind. reporting_params changes take effect at once.
# qconf prints long values over lines ending in '\': joined before editing.
global_conf=$(qconf -sconf global | sed -e ':a' -e '/\\$/{N;s/\\\n[[:space:]]*/ /;ta}')
if ! grep -q '^reporting_params .*accounting_flush_time=00:00:00' <<<"$global_conf"; then
    log "sge: accounting records written at once (reporting_params accounting_flush_time=00:00:00)"
    scratch=$(mktemp -d)
    sed -e '/^reporting_params/{s/ accounting_flush_time=[^ ]*//;s/$/ accounting_flush_time=00:00:00/;}' \
        <<<"$global_conf" > "$scratch/global"   # qconf -Mconf wants the file named after the config
    qconf -Mconf "$scratch/global" >/dev/null
    rm -rf "$scratch"
fi
# The execd can die while the qmaster lives on (seen here after a commlib read error): start it
# whenever it is not running, not only together with a fresh qmaster.
if ! pgrep -x sge_execd >/dev/null; then
    log "starting the SGE execd"
    /etc/init.d/gridengine-exec start >"$logdir/sge-exec.log" 2>&1 || true
fi
# A busy 2-core test VM sits above the default np_load_avg=1.75 threshold: the queue would go into
# alarm state ('a') and schedule nothing. 4 slots on 2 cores, like SLURM's OverSubscribe=FORCE:4:
# the test tasks mostly wait on podman, not on the CPU.
qconf -rattr queue load_thresholds NONE all.q >/dev/null
qconf -rattr queue slots 4 all.q >/dev/null
for _ in $(seq 1 40); do
    qstat -f 2>/dev/null | grep "all.q@$host" | grep -qv ' [a-zA-Z]*u[a-zA-Z]*$' && break
    sleep 0.25
done
log "sge: $(qstat -f | grep "all.q@" | head -1 | tr -s ' ')"
log "ready: sbatch $(command -v sbatch), qsub $(command -v qsub)"
