#!/bin/bash
# hepstack job lat-digi: 10 task(s) on SGE/UGE (batch/templates/sge.tmpl)
#$ -N lat-digi
#$ -t 1-10
#$ -S /bin/bash
#$ -o /home/alice/.local/share/hepstack/jobs/20261122-120000-abcdef/scheduler-$JOB_ID.$TASK_ID.out
#$ -j y
#$ -notify
# SGE_TASK_ID is 1..10 (-t 1-10); "undefined" outside an array.
HEPSTACK_TASK_INDEX=${SGE_TASK_ID:-1}
[ "$HEPSTACK_TASK_INDEX" = undefined ] && HEPSTACK_TASK_INDEX=1
# --- hepstack task body (batch/templates/task.tmpl): bash only, no Python in the job -------------------
HEPSTACK_TASK_COUNT=10
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
[ -n "${USER:-}" ] || export USER="$(id -un)"
# --- hepstack node image cache (batch/templates/node_cache.sh): the job's side, bash only --------------
# The same files and locks as hepstack.registry.cache, so that jobs and `hepstack run` on one node share
# entries: CACHE/<kind>/<id> is made once per node under <id>.build.lock (flock -x, re-checked after the
# wait), in .tmp-<id>-<pid> renamed into place (an entry is complete or absent); <id>.use.lock is held
# shared for the whole task (an eviction skips it); <id>.meta's mtime is the last use; each conversion
# appends one line to CACHE/conversions.log. Directories are private (0700) unless the cache is shared
# by an owner (HEPSTACK_CACHE_OWNER at submit): then only that account converts, others use its entries.
hepstack_cache_fail() {
    echo "hepstack: node cache: $1" >&2
    return 2
}

hepstack_cache_dir() {  # DIR OWNER_UID MODE: made if ours, else refused unless OWNER's, not writable by others
    [ "$(id -u)" = "$2" ] && { [ -d "$1" ] || mkdir -p -m "$3" -- "$1"; }
    [ -d "$1" ] && [ ! -L "$1" ] || hepstack_cache_fail "$1 is not a directory (was it made by its owner?)" || return
    [ "$(stat -c %u -- "$1")" = "$2" ] || hepstack_cache_fail "$1 belongs to uid $(stat -c %u -- "$1"), not $2" || return
    case $(stat -c %A -- "$1") in
        ?????w???? | ????????w?) hepstack_cache_fail "$1 is writable by other users: refused" ;;
    esac
}

hepstack_cache_entry() {  # KIND ENTRY LABEL OWNER_UID SHARED MAX_BYTES CONVERTER [ARGS...]: ENTRY there, held
    local kind=$1 entry=$2 label=$3 owner=$4 max=$6 directory=${2%/*} mode=0700 file_mode=077
    [ "$5" = 1 ] && { mode=0755; file_mode=022; }
    shift 6
    [ "$kind" = "${directory##*/}" ] || hepstack_cache_fail "$entry is not in a $kind folder" || return
    hepstack_cache_dir "${directory%/*}" "$owner" "$mode" && hepstack_cache_dir "$directory" "$owner" "$mode" || return
    if [ "$(id -u)" = "$owner" ] && [ ! -e "$entry.use.lock" ]; then (umask "$file_mode"; : >>"$entry.use.lock"); fi
    exec {hepstack_use_lock}<"$entry.use.lock" || hepstack_cache_fail "cannot open $entry.use.lock" || return
    flock -s "$hepstack_use_lock"  # held by this shell until the task ends; waits only for an eviction
    if [ ! -e "$entry" ] && [ ! -L "$entry" ]; then
        [ "$(id -u)" = "$owner" ] ||
            hepstack_cache_fail "the shared node cache has no $kind entry of $label; only uid $owner makes entries" || return
        hepstack_cache_convert "$kind" "$entry" "$label" "$file_mode" "$@" {hepstack_use_lock}<&- || return
        [ -z "$max" ] || hepstack_cache_evict "${directory%/*}" "$max" "$entry"
    fi
    [ -d "$entry" ] && [ ! -L "$entry" ] || hepstack_cache_fail "$entry is not a directory: refused" || return
    [ "$(stat -c %u -- "$entry")" = "$owner" ] || hepstack_cache_fail "$entry is not uid $owner's: refused" || return
    case $(stat -c %A -- "$entry") in
        ?????w???? | ????????w?) hepstack_cache_fail "$entry is writable by other users: refused" || return ;;
    esac
    touch -c -- "$entry.meta" 2>/dev/null  # the last use, for least-recently-used eviction
    return 0
}

hepstack_cache_convert() {  # KIND ENTRY LABEL UMASK CONVERTER [ARGS...]: one conversion per node
    local kind=$1 entry=$2 label=$3 file_mode=$4 build scratch started size tenths status json
    shift 4
    (umask "$file_mode"; : >>"$entry.build.lock")
    exec {build}<"$entry.build.lock" || return
    flock -x "$build"
    if [ -e "$entry" ]; then  # another task converted it while this one waited
        exec {build}<&-
        return 0
    fi
    scratch=${entry%/*}/.tmp-${entry##*/}-$$
    rm -rf -- "$scratch" "$scratch.tar"
    started=$(date +%s%N)  # GNU date; not $EPOCHREALTIME, which bash 4 (EL8 nodes) lacks
    "$@" "$scratch" {build}<&-  # the converter's daemons (podman's pause process) must not keep the lock
    status=$?
    if [ "$status" -eq 0 ]; then
        chmod go-w -- "$scratch"  # writable by the owner alone, whatever the umask: others' are refused
        size=$(du -s --block-size=1 -- "$scratch" | cut -f1)
        json=${label//\\/\\\\}
        (umask "$file_mode"; printf '{"size": %s, "image": "%s"}\n' "$size" "${json//\"/\\\"}" >"$entry.meta.tmp-$$") &&
            mv -fT -- "$entry.meta.tmp-$$" "$entry.meta" && mv -T -- "$scratch" "$entry"
        status=$?
    fi
    rm -rf -- "$scratch" "$scratch.tar" "$entry.meta.tmp-$$"
    if [ "$status" -eq 0 ]; then
        tenths=$(( ($(date +%s%N) - started) / 100000000 ))
        (umask "$file_mode"; printf '%s\t%s/%s\t%s\t%d.%ds\t%s\tpid %s (job)\n' "$(date +%Y-%m-%dT%H:%M:%S)" \
            "$kind" "${entry##*/}" "$label" $((tenths / 10)) $((tenths % 10)) "$size" $$ >>"${entry%/*/*}/conversions.log")
    else
        echo "hepstack: node cache: converting $label failed (exit $status)" >&2
    fi
    exec {build}<&-
    return "$status"
}

hepstack_cache_evict() {  # ROOT MAX_BYTES KEEP: least recently used entries not in use go until ROOT fits
    local root=$1 max=$2 keep=$3 total=0 meta entry size lock i
    local -a metas=() sizes=()
    mapfile -t metas < <(ls -1tr -- "$root"/charliecloud/*.meta "$root"/squashfs/*.meta "$root"/sif/*.meta 2>/dev/null)
    for meta in "${metas[@]}"; do  # oldest last use first; names are content ids: no blanks in them
        size=$(sed -n 's/^{"size": *\([0-9][0-9]*\),.*/\1/p' -- "$meta" 2>/dev/null)
        [ -n "$size" ] && [ -d "${meta%.meta}" ] || size=0
        sizes+=("$size")
        total=$((total + size))
    done
    for i in "${!metas[@]}"; do
        [ "$total" -le "$max" ] && break
        entry=${metas[i]%.meta}
        [ "${sizes[i]}" -gt 0 ] && [ "$entry" != "$keep" ] || continue
        [ -f "$entry.use.lock" ] || : >>"$entry.use.lock"
        exec {lock}<"$entry.use.lock" || continue  # (no 2> here: on exec it would last for the whole job)
        if flock -xn "$lock"; then  # no task holds it: gone for new users at once, then removed
            mv -T -- "$entry" "${entry%/*}/.evict-${entry##*/}-$$" && rm -f -- "$entry.meta" &&
                rm -rf -- "${entry%/*}/.evict-${entry##*/}-$$" && total=$((total - sizes[i]))
        fi
        exec {lock}<&-
    done
    [ "$total" -le "$max" ] ||
        echo "hepstack: the image cache $root holds $total bytes, over HEPSTACK_CACHE_MAX ($max); the rest is in use or just made" >&2
}

hepstack_engine() {  # ENGINE ARGS...: rootless podman's state where it outlives the job (docs/cancel.md)
    XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp/podman-run-$(id -u)} "$@"
}

hepstack_store_image() {  # ENGINE REFERENCE: a registry image in this user's engine store, one pull per node
    local engine=$1 reference=$2 locks lock key started tenths status
    hepstack_engine "$engine" image inspect --format '{{.Id}}' "$reference" >/dev/null 2>&1 && return 0
    # The store is the user's (rootless podman) or the daemon's: the lock is the user's own, beside
    # podman's runtime state, so a shared node cache owned by another account is not needed for it.
    locks=${XDG_RUNTIME_DIR:-/tmp/podman-run-$(id -u)}/hepstack-pulls
    hepstack_cache_dir "${locks%/*}" "$(id -u)" 0700 && hepstack_cache_dir "$locks" "$(id -u)" 0700 || return
    key=$(printf '%s' "$reference" | sha256sum | cut -c1-32)
    (umask 077; : >>"$locks/$key.lock")
    exec {lock}<"$locks/$key.lock" || hepstack_cache_fail "cannot open $locks/$key.lock" || return
    flock -x "$lock"
    status=0
    if ! hepstack_engine "$engine" image inspect --format '{{.Id}}' "$reference" >/dev/null 2>&1; then
        started=$(date +%s%N)
        hepstack_engine "$engine" pull --quiet "$reference" >/dev/null {lock}<&-
        status=$?
        if [ "$status" -eq 0 ]; then
            tenths=$(( ($(date +%s%N) - started) / 100000000 ))
            printf '%s\t%s\t%d.%ds\tpid %s (job)\n' "$(date +%Y-%m-%dT%H:%M:%S)" "$reference" \
                $((tenths / 10)) $((tenths % 10)) $$ >>"$locks/pulls.log"
        else  # 75 (EX_TEMPFAIL), the code of a failed stage-in: a retry may succeed
            echo "hepstack: pulling $reference into the $engine store failed (exit $status)" >&2
            status=75
        fi
    fi
    exec {lock}<&-
    return "$status"
}

hepstack_unpack_engine() {  # ENGINE REFERENCE TARGET: the image's root filesystem and environment
    local engine=$1 reference=$2 target=$3 container environment status
    mkdir -- "$target" || return
    container=$(hepstack_engine "$engine" create "$reference" /bin/true) || return
    container=${container##*$'\n'}  # the id is the last line (a pull prints progress first)
    hepstack_engine "$engine" export --output "$target.tar" "$container"
    status=$?
    hepstack_engine "$engine" rm --force "$container" >/dev/null 2>&1
    [ "$status" -eq 0 ] || return "$status"
    # GNU tar strips leading '/' and refuses '..' members; as root it must not keep image owners.
    tar --extract --file="$target.tar" --directory="$target" --no-same-owner --delay-directory-restore \
        --exclude='./dev/*' --exclude='dev/*' || return
    rm -f -- "$target.tar"
    chmod -R u+rwX -- "$target" || return  # so that the cache can always evict it
    environment=$(hepstack_engine "$engine" image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$reference") ||
        return
    printf '%s\n' "$environment" | grep = >"$target.env"
    hepstack_image_metadata "$target" "$target.env"
    status=$?
    rm -f -- "$target.env"
    [ "$status" -eq 0 ] || return "$status"
    printf '%s\n' "$reference" >"$target/.hepstack-unpacked"
}

hepstack_image_metadata() {  # TREE ENVFILE: the environment where ch-run and Apptainer read it
    local tree=$1 folder line
    for folder in ch .singularity.d .singularity.d/env .singularity.d/actions .singularity.d/libs; do
        [ -L "$tree/$folder" ] || { [ -e "$tree/$folder" ] && [ ! -d "$tree/$folder" ]; } &&
            { hepstack_cache_fail "the image has /$folder as a symlink or file, where hepstack writes its environment"; return; }
        [ -d "$tree/$folder" ] || mkdir -- "$tree/$folder" || return
    done
    hepstack_image_file "$tree/ch/environment" 644 <"$2" || return
    {
        echo '#!/bin/sh'
        while IFS= read -r line; do
            line=${line//\'/\'\\\'\'}
            printf "export %s='%s'\n" "${line%%=*}" "${line#*=}"
        done <"$2"
    } | hepstack_image_file "$tree/.singularity.d/env/90-environment.sh" 644 || return
    printf '#!/bin/sh\n%s\n%s\n' 'for script in /.singularity.d/env/*.sh; do [ -f "$script" ] && . "$script"; done' \
        'exec "$@"' | hepstack_image_file "$tree/.singularity.d/actions/exec" 755 || return
    printf '#!/bin/sh\nexec /.singularity.d/actions/exec /.singularity.d/runscript "$@"\n' \
        | hepstack_image_file "$tree/.singularity.d/actions/run" 755 || return
    printf '#!/bin/sh\nexec /.singularity.d/actions/exec /bin/sh\n' \
        | hepstack_image_file "$tree/.singularity.d/actions/shell" 755 || return
    printf '#!/bin/sh\nexec /bin/sh "$@"\n' | hepstack_image_file "$tree/.singularity.d/runscript" 755 || return
    rm -f -- "$tree/singularity" && ln -s .singularity.d/runscript "$tree/singularity"
}

hepstack_image_file() {  # PATH MODE: stdin written to PATH atomically (replacing a symlink, never following it)
    cat >"$1.tmp-$$" && chmod "$2" -- "$1.tmp-$$" && mv -fT -- "$1.tmp-$$" "$1"
}

hepstack_sif_from_engine() {  # APPTAINER ENGINE REFERENCE TARGET: engine store -> docker-archive -> SIF
    mkdir -- "$4" || return
    hepstack_engine "$2" save --output "$4.tar" "$3" || return  # podman's and docker's default format: docker-archive
    "$1" build "$4/image.sif" "docker-archive:$4.tar"
}

hepstack_sif_from_source() {  # APPTAINER SOURCE TARGET: a registry image (docker://REPO@sha256:...) -> SIF
    mkdir -- "$3" || return
    "$1" build "$3/image.sif" "$2"
}

hepstack_mount_points() {  # TREE TARGET...: each TARGET a directory of TREE (ch-run cannot make them)
    local root current step part target parts
    [ -d "$1" ] || return 0  # not a tree here (a SquashFS file, a missing path): ch-run says what it is
    root=$(realpath -e -- "$1") || return
    shift
    for target in "$@"; do
        current=$root
        IFS=/ read -r -a parts <<<"$target"
        for part in "${parts[@]}"; do
            [ -z "$part" ] || [ "$part" = . ] && continue
            step=$(realpath -m -- "$current/$part")
            case $step/ in
                "$root"/*) ;;
                *) hepstack_cache_fail "the mount point $target leaves the image tree $root (through a symlink in the image)"; return ;;
            esac
            mkdir -- "$step" 2>/dev/null
            current=$step
        done
    done
}
# --- end of the node image cache --------------------------------------------------------------------
hepstack_mount_points /cvmfs/unpacked.example.org/localhost/lat/release:1.0 /out /work || hepstack_finish "$?"
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
/usr/bin/ch-run '--unset-env=*' --set-env --private-tmp --bind=/home/alice/out:/out --cd=/work /cvmfs/unpacked.example.org/localhost/lat/release:1.0 -- /bin/sh -l -c 'exec env "$@"' hepstack HEPSTACK_TASK_INDEX="${HEPSTACK_TASK_INDEX}" HEPSTACK_TASK_COUNT="${HEPSTACK_TASK_COUNT}" lat-run digi.yaml &
payload=$!
# (no watcher: a kill of the job's process group kills the payload too)
wait "$payload"
status=$?
while kill -0 "$payload" 2>/dev/null; do  # a trap interrupted the wait: wait for the payload's end
    wait "$payload"
    status=$?
done
hepstack_finish "$status"
