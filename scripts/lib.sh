# Shared by the set-up scripts (sourced, not run).

# apt_install PACKAGE...: install those not installed yet. Maintainer scripts must not start daemons
# (policy-rc.d 101: no systemd here); the set-up scripts start what they need themselves.
apt_install() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -gt 0 ] || return 0
    log "installing: ${missing[*]}"
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# die MESSAGE...: the error on stderr, exit 1.
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# wait_until SECONDS COMMAND...: poll COMMAND (quietly, every 0.2 s) until it succeeds; 1 if SECONDS
# pass first. The condition is waited for, never a fixed sleep.
wait_until() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.2
    done
}

# write_if_changed PATH MODE OWNER TEXT: PATH holds TEXT (plus a newline), mode MODE, owner OWNER
# (user:group). Returns 0 when it wrote the file, 1 when it was already so; the new file is written next
# to PATH and renamed over it, so a reader never sees half of it.
write_if_changed() {
    local path=$1 mode=$2 owner=$3 text=$4
    if [ -f "$path" ] && [ "$(cat "$path")" = "$text" ] \
        && [ "$(stat -c '%a %U:%G' "$path")" = "${mode#0} $owner" ]; then
        return 1
    fi
    local scratch
    scratch=$(mktemp "$path.XXXXXX")
    printf '%s\n' "$text" > "$scratch"
    chmod "$mode" "$scratch" && chown "$owner" "$scratch" && mv -f "$scratch" "$path"
}

# random_password: 48 hex digits from the kernel's CSPRNG (nothing to quote in SQL, URLs or option files).
random_password() {
    od -An -tx1 -N24 /dev/urandom | tr -d ' \n'
}

# ensure_secret_file PATH TEMPLATE: create PATH (root, 0600, in a 0700 directory) the first time only,
# from TEMPLATE with @PASSWORD@ replaced by a new random password. Never prints the password.
ensure_secret_file() {
    local path=$1 template=$2
    install -d -m 0700 -o root -g root "$(dirname "$path")"
    [ -s "$path" ] && return 0
    local scratch
    scratch=$(umask 077 && mktemp "$path.XXXXXX")
    printf '%s\n' "${template//@PASSWORD@/$(random_password)}" > "$scratch"
    mv -f "$scratch" "$path"
}
