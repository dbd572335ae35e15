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
# (the runtime needs no set-up in the job)
/usr/bin/apptainer exec --containall --cleanenv --bind /cvmfs:/cvmfs:ro --bind /home/alice/out:/out:rw docker://registry.example.org/hep/lat/release@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef /bin/sh -l -c 'exec env "$@"' hepstack 'LAT_RUN=it'"'"'s 7' HEPSTACK_TASK_INDEX="${HEPSTACK_TASK_INDEX}" HEPSTACK_TASK_COUNT="${HEPSTACK_TASK_COUNT}" lat-run digi.yaml --seed '$HEPSTACK_TASK_INDEX'
status=$?
# The exit code is written by the job itself (atomically), so it is known without scheduler accounting.
printf '%s\n' "$status" >/home/alice/.local/share/hepstack/jobs/20261122-120000-abcdef/"${HEPSTACK_TASK_INDEX}".exitcode.tmp
mv -f /home/alice/.local/share/hepstack/jobs/20261122-120000-abcdef/"${HEPSTACK_TASK_INDEX}".exitcode.tmp /home/alice/.local/share/hepstack/jobs/20261122-120000-abcdef/"${HEPSTACK_TASK_INDEX}".exitcode
exit "$status"
