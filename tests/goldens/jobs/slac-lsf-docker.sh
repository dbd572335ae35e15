#!/bin/bash
# hepstack job lat-digi: 20 task(s) on LSF (batch/templates/lsf.tmpl); submitted as `bsub < job.sh`
#BSUB -J "lat-digi[1-20]"
#BSUB -o /home/alice/.local/share/hepstack/jobs/20261122-120000-abcdef/scheduler-%J.%I.out
#BSUB -n 1
#BSUB -M 4096MB
#BSUB -R "rusage[mem=4096]"
#BSUB -W 8:00
#BSUB -q medium
# LSB_JOBINDEX is 1..20 (-J "name[1-20]").
HEPSTACK_TASK_INDEX=${LSB_JOBINDEX:-1}
# --- hepstack task body (batch/templates/task.tmpl): bash only, no Python in the job -------------------
HEPSTACK_TASK_COUNT=20
export HEPSTACK_TASK_INDEX HEPSTACK_TASK_COUNT
# This task's output, next to its exit code: <jobdir>/<task>.log and <jobdir>/<task>.exitcode
exec >>/home/alice/.local/share/hepstack/jobs/20261122-120000-abcdef/"${HEPSTACK_TASK_INDEX}".log 2>&1
# (no --task-file: HEPSTACK_TASK_INPUT is not set)
# The task's container is named after the job, the task and this shell, so that a cancel can stop it
# by name; anything but [A-Za-z0-9_.-] in the scheduler's id is replaced.
HEPSTACK_CONTAINER=hepstack-${SLURM_JOB_ID:-${JOB_ID:-${LSB_JOBID:-${CLUSTER_ID:-local}}}}-${HEPSTACK_TASK_INDEX}-$$
HEPSTACK_CONTAINER=${HEPSTACK_CONTAINER//[!A-Za-z0-9_.-]/_}
# The exit code is written by the job itself (atomically), so it is known without scheduler accounting.
hepstack_finish() {
    printf '%s\n' "$1" >/home/alice/.local/share/hepstack/jobs/20261122-120000-abcdef/"${HEPSTACK_TASK_INDEX}".exitcode.tmp
    mv -f /home/alice/.local/share/hepstack/jobs/20261122-120000-abcdef/"${HEPSTACK_TASK_INDEX}".exitcode.tmp /home/alice/.local/share/hepstack/jobs/20261122-120000-abcdef/"${HEPSTACK_TASK_INDEX}".exitcode
    exit "$1"
}
# (the runtime needs no set-up in the job)
# (the image needs no preparation on the node)
# A cancel (SLURM: SIGTERM, SIGKILL after KillWait; SGE -notify: SIGUSR1/2 first; local: SIGTERM to the
# session) stops the container by name; the payload would not hear the signal as PID 1.
hepstack_stop() {
    trap '' TERM INT HUP USR1 USR2
    echo "hepstack: SIG$1: stopping the task" >&2
    /usr/bin/docker stop -t 5 "$HEPSTACK_CONTAINER" >/dev/null 2>&1
    /usr/bin/docker rm -f "$HEPSTACK_CONTAINER" >/dev/null 2>&1
    pkill -TERM -P "$payload" 2>/dev/null
    kill -TERM "$payload" 2>/dev/null
}
for signal in TERM INT HUP USR1 USR2; do trap "hepstack_stop $signal" "$signal"; done
/usr/bin/docker run --rm --pull=never --read-only --security-opt=no-new-privileges --cap-drop=all --network=host --mount type=bind,source=/scratch,target=/scratch --mount type=bind,source=/nfs/farm/g/glast,target=/data,readonly --mount type=bind,source=/home/alice/out,target=/out --name "${HEPSTACK_CONTAINER}" --tmpfs /tmp:rw,nosuid,nodev,exec --user 1234:5678 --init localhost/lat/release:1.0 /bin/sh -l -c 'exec env "$@"' hepstack OMP_NUM_THREADS=1 'LAT_RUN=it'"'"'s 7' HEPSTACK_TASK_INDEX="${HEPSTACK_TASK_INDEX}" HEPSTACK_TASK_COUNT="${HEPSTACK_TASK_COUNT}" lat-run digi.yaml --seed '$HEPSTACK_TASK_INDEX' &
payload=$!
setsid bash -c 'tail --pid="$1" -f /dev/null; HEPSTACK_CONTAINER=$2; /usr/bin/docker stop -t 5 "$HEPSTACK_CONTAINER" >/dev/null 2>&1; /usr/bin/docker rm -f "$HEPSTACK_CONTAINER" >/dev/null 2>&1' hepstack-watcher $$ "$HEPSTACK_CONTAINER" </dev/null >/dev/null 2>&1 &
wait "$payload"
status=$?
while kill -0 "$payload" 2>/dev/null; do  # a trap interrupted the wait: wait for the payload's end
    wait "$payload"
    status=$?
done
hepstack_finish "$status"
