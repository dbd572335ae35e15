#!/bin/bash
# hepstack job lat-digi: 20 task(s) on SLURM (batch/templates/slurm.tmpl)
#SBATCH --job-name=lat-digi
#SBATCH --array=1-20
#SBATCH --output=/home/alice/.local/share/hepstack/jobs/20261122-120000-abcdef/scheduler-%A_%a.out
#SBATCH --cpus-per-task=1
#SBATCH --mem=2048M
#SBATCH --time=04:00:00
#SBATCH --partition=regular
#SBATCH --account=m0000
#SBATCH --constraint=cpu
#SBATCH --image=docker:registry.example.org/hep/lat/release@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
# SLURM_ARRAY_TASK_ID is 1..20 (--array=1-20), the same 1-based index as every scheduler.
HEPSTACK_TASK_INDEX=${SLURM_ARRAY_TASK_ID:-1}
# --- hepstack task body (batch/templates/task.tmpl): bash only, no Python in the job -------------------
HEPSTACK_TASK_COUNT=20
export HEPSTACK_TASK_INDEX HEPSTACK_TASK_COUNT
# This task's output, next to its exit code: <jobdir>/<task>.log and <jobdir>/<task>.exitcode
exec >>/home/alice/.local/share/hepstack/jobs/20261122-120000-abcdef/"${HEPSTACK_TASK_INDEX}".log 2>&1
# (no --task-file: HEPSTACK_TASK_INPUT is not set)
shifterimg pull docker:registry.example.org/hep/lat/release@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
case "${SCRATCH-}" in  # site variables in binds, known only here
  *[,:\;\"]* | *$'\n'*) echo 'hepstack: $SCRATCH: a bind cannot hold , : ; " or a line break' >&2; (exit 2) ;;
  *) /usr/bin/shifter --image=docker:registry.example.org/hep/lat/release@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef --volume="${SCRATCH}":/scratch --volume=/global/cfs/cdirs/lat:/data:ro --volume=/home/alice/out:/out /bin/sh -l -c 'exec env "$@"' hepstack OMP_NUM_THREADS=1 'LAT_RUN=it'"'"'s 7' HEPSTACK_TASK_INDEX="${HEPSTACK_TASK_INDEX}" HEPSTACK_TASK_COUNT="${HEPSTACK_TASK_COUNT}" lat-run digi.yaml --seed '$HEPSTACK_TASK_INDEX' ;;
esac
status=$?
# The exit code is written by the job itself (atomically), so it is known without scheduler accounting.
printf '%s\n' "$status" >/home/alice/.local/share/hepstack/jobs/20261122-120000-abcdef/"${HEPSTACK_TASK_INDEX}".exitcode.tmp
mv -f /home/alice/.local/share/hepstack/jobs/20261122-120000-abcdef/"${HEPSTACK_TASK_INDEX}".exitcode.tmp /home/alice/.local/share/hepstack/jobs/20261122-120000-abcdef/"${HEPSTACK_TASK_INDEX}".exitcode
exit "$status"
