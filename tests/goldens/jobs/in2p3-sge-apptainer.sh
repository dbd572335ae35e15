#!/bin/bash
# hepstack job lat-digi: 20 task(s) on SGE/UGE (batch/templates/sge.tmpl)
#$ -N lat-digi
#$ -t 1-20
#$ -S /bin/bash
#$ -o /home/alice/.local/share/hepstack/jobs/20261122-120000-abcdef/scheduler-$JOB_ID.$TASK_ID.out
#$ -j y
#$ -l h_vmem=3072M
#$ -l h_rt=24:00:00
#$ -q long
#$ -l sps=1
# SGE_TASK_ID is 1..20 (-t 1-20); "undefined" outside an array.
HEPSTACK_TASK_INDEX=${SGE_TASK_ID:-1}
[ "$HEPSTACK_TASK_INDEX" = undefined ] && HEPSTACK_TASK_INDEX=1
# --- hepstack task body (batch/templates/task.tmpl): bash only, no Python in the job -------------------
HEPSTACK_TASK_COUNT=20
export HEPSTACK_TASK_INDEX HEPSTACK_TASK_COUNT
# This task's output, next to its exit code: <jobdir>/<task>.log and <jobdir>/<task>.exitcode
exec >>/home/alice/.local/share/hepstack/jobs/20261122-120000-abcdef/"${HEPSTACK_TASK_INDEX}".log 2>&1
# (no --task-file: HEPSTACK_TASK_INPUT is not set)
# (the runtime needs no set-up in the job)
case "${TMPDIR-}" in  # site variables in binds, known only here
  *[,:\;\"]* | *$'\n'*) echo 'hepstack: $TMPDIR: a bind cannot hold , : ; " or a line break' >&2; (exit 2) ;;
  *) /usr/bin/apptainer exec --containall --cleanenv --bind /sps/hep:/data:ro --bind "${TMPDIR}":/scratch:rw --bind /home/alice/out:/out:rw docker://localhost/lat/release:1.0 /bin/sh -l -c 'exec env "$@"' hepstack OMP_NUM_THREADS=1 'LAT_RUN=it'"'"'s 7' HEPSTACK_TASK_INDEX="${HEPSTACK_TASK_INDEX}" HEPSTACK_TASK_COUNT="${HEPSTACK_TASK_COUNT}" lat-run digi.yaml --seed '$HEPSTACK_TASK_INDEX' ;;
esac
status=$?
# The exit code is written by the job itself (atomically), so it is known without scheduler accounting.
printf '%s\n' "$status" >/home/alice/.local/share/hepstack/jobs/20261122-120000-abcdef/"${HEPSTACK_TASK_INDEX}".exitcode.tmp
mv -f /home/alice/.local/share/hepstack/jobs/20261122-120000-abcdef/"${HEPSTACK_TASK_INDEX}".exitcode.tmp /home/alice/.local/share/hepstack/jobs/20261122-120000-abcdef/"${HEPSTACK_TASK_INDEX}".exitcode
exit "$status"
