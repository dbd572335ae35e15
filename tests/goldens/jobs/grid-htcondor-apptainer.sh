#!/bin/bash
# hepstack job lat-digi: 20 task(s) on HTCondor (batch/templates/htcondor.tmpl); submitted with job.sub

# job.sub passes $(Process), 0..20-1; hepstack's task index is 1-based like every other scheduler's.
HEPSTACK_TASK_INDEX=$(( ${1:-0} + 1 ))
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
# (the runtime needs no set-up in the job)
# A cancel (SLURM: SIGTERM, SIGKILL after KillWait; SGE -notify: SIGUSR1/2 first; local: SIGTERM to the
# session) stops the container by name; the payload would not hear the signal as PID 1.
hepstack_stop() {
    trap '' TERM INT HUP USR1 USR2
    echo "hepstack: SIG$1: stopping the task" >&2
    # (the payload is a child of this shell: the signal reaches it)
    pkill -TERM -P "$payload" 2>/dev/null
    kill -TERM "$payload" 2>/dev/null
}
for signal in TERM INT HUP USR1 USR2; do trap "hepstack_stop $signal" "$signal"; done
/usr/bin/apptainer exec --containall --cleanenv --bind /cvmfs:/cvmfs:ro --bind /home/alice/out:/out:rw docker://registry.example.org/hep/lat/release@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef /bin/sh -l -c 'exec env "$@"' hepstack 'LAT_RUN=it'"'"'s 7' HEPSTACK_TASK_INDEX="${HEPSTACK_TASK_INDEX}" HEPSTACK_TASK_COUNT="${HEPSTACK_TASK_COUNT}" lat-run digi.yaml --seed '$HEPSTACK_TASK_INDEX' &
payload=$!
# (no watcher: a kill of the job's process group kills the payload too)
wait "$payload"
status=$?
while kill -0 "$payload" 2>/dev/null; do  # a trap interrupted the wait: wait for the payload's end
    wait "$payload"
    status=$?
done
# The exit code is written by the job itself (atomically), so it is known without scheduler accounting.
printf '%s\n' "$status" >/home/alice/.local/share/hepstack/jobs/20261122-120000-abcdef/"${HEPSTACK_TASK_INDEX}".exitcode.tmp
mv -f /home/alice/.local/share/hepstack/jobs/20261122-120000-abcdef/"${HEPSTACK_TASK_INDEX}".exitcode.tmp /home/alice/.local/share/hepstack/jobs/20261122-120000-abcdef/"${HEPSTACK_TASK_INDEX}".exitcode
exit "$status"
