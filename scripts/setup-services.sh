#!/usr/bin/env bash
# The servers hepstack's production features talk to, as loopback-only test stand-ins on one Debian 12
# host, as root: PostgreSQL 15 (the pipeline state DB of a shared install), MariaDB 10.11 (the example's
# calibration DB; SLURM accounting, which scripts/setup-schedulers.sh puts on it), xrootd 5.5 (job stage-in
# and stage-out), an sshd on 127.0.0.1:2222 (a remote site over SSH) and Chromium with chromedriver
# (browser tests). Idempotent: installs what is missing, rewrites a config only when it differs (and then
# restarts that server), starts only what is not answering, generates each password once.
#   Endpoints (no secrets):  /etc/hepstack/services/NAME.json, read by tests/services/endpoints.py
#   Credentials (root only): /etc/hepstack/secrets/, one file per account in its client's own format
# Usage: setup-services.sh [SERVICE...]   (default all: postgresql mariadb xrootd sshd chromium)
# What each server is and how to check it by hand: docs/test-setup.md. Recipes: docs/host-facts.md.
set -euo pipefail

log() { printf '[setup] %s\n' "$*"; }
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || die "setup-services.sh must run as root (it installs packages and starts servers)"

test_user=${HEPSTACK_TEST_USER:-hepstack-test}
endpoints=/etc/hepstack/services
secrets=/etc/hepstack/secrets
logdir=/var/log/hepstack
startup_seconds=60   # a cold start on a busy 2-core VM; each server answered within ~3 s when measured
install -d -m 0755 /etc/hepstack "$endpoints" "$logdir"
install -d -m 0700 -o root -g root "$secrets"

# endpoint NAME JSON: what tests and people need to reach service NAME (never a password: those stay in
# $secrets, and this file names the one to read).
endpoint() {
    write_if_changed "$endpoints/$1.json" 0644 root:root "$2" || true
}

# status_line NAME WHERE HOW: the status line of a server that answers now (HOW: started, already running...).
status_line() {
    log "$1: running on $2 ($3)"
}

# --- PostgreSQL 15: the Debian cluster 15/main on 127.0.0.1:5432 ---------------------------------------
setup_postgresql() {
    local port=5432 conf=/etc/postgresql/15/main/conf.d/hepstack.conf how="already running"
    local pgpass=$secrets/postgresql-hepstack.pgpass pglog=/var/log/postgresql/postgresql-15-main.log
    pg_lsclusters -h | awk '$1 == 15 && $2 == "main" { found = 1 } END { exit !found }' \
        || pg_createcluster 15 main >/dev/null
    local changed=0
    write_if_changed "$conf" 0644 postgres:postgres "# written by hepstack scripts/setup-services.sh
listen_addresses = '127.0.0.1'
port = $port" && changed=1
    if pg_isready -q -h 127.0.0.1 -p "$port"; then
        if [ "$changed" = 1 ]; then
            how="restarted: $conf changed"
            pg_ctlcluster 15 main restart
        fi
    else
        how=started
        pg_ctlcluster 15 main start || die "postgresql did not start; see $pglog"
    fi
    wait_until "$startup_seconds" pg_isready -q -h 127.0.0.1 -p "$port" \
        || die "postgresql did not come up on 127.0.0.1:$port; see $pglog"

    # libpq's password file format (host:port:database:user:password): psql and the tests read it.
    ensure_secret_file "$pgpass" "127.0.0.1:$port:*:hepstack:@PASSWORD@"
    if ! PGPASSFILE=$pgpass PGCONNECT_TIMEOUT=10 psql -w -q -X -h 127.0.0.1 -p "$port" -U hepstack \
        -d hepstack -c 'SELECT 1' >/dev/null 2>&1; then
        log "postgresql: setting up role and database hepstack (its password: $pgpass)"
        # The password travels on stdin, never in argv. CREATEDB: tests make a database per test.
        runuser -u postgres -- psql -q -X -v ON_ERROR_STOP=1 -d postgres >/dev/null <<SQL
DO \$\$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hepstack') THEN CREATE ROLE hepstack; END IF;
END \$\$;
ALTER ROLE hepstack WITH LOGIN CREATEDB PASSWORD '$(cut -d: -f5 "$pgpass")';
SQL
        runuser -u postgres -- psql -X -tA -d postgres -c "SELECT 1 FROM pg_database WHERE datname = 'hepstack'" \
            | grep -q 1 || runuser -u postgres -- createdb -O hepstack hepstack
        PGPASSFILE=$pgpass psql -w -q -X -h 127.0.0.1 -p "$port" -U hepstack -d hepstack -c 'SELECT 1' \
            >/dev/null || die "postgresql: role hepstack cannot log in with $pgpass; see $pglog"
    fi
    endpoint postgresql "{
  \"host\": \"127.0.0.1\", \"port\": $port, \"user\": \"hepstack\", \"database\": \"hepstack\",
  \"pgpass\": \"$pgpass\", \"log\": \"$pglog\"
}"
    status_line postgresql "127.0.0.1:$port" "$how"
}

# --- MariaDB 10.11: the Debian server on 127.0.0.1:3306 ------------------------------------------------
# (root through the unix socket: root@localhost is not an account on 127.0.0.1; the accounts below then
# log in over TCP, which proves 127.0.0.1:3306)
mariadb_answers() { mariadb-admin -u root --connect-timeout=5 ping; }

# mariadb_account NAME PRIVILEGES DATABASE: account NAME@127.0.0.1 with PRIVILEGES on DATABASE.*, its
# password in $secrets/mariadb-NAME.cnf (a client option file: mariadb --defaults-extra-file=, and
# PyMySQL's read_default_file=). Changes nothing when that file already logs in and sees DATABASE.
mariadb_account() {
    local name=$1 privileges=$2 database=$3 cnf=$secrets/mariadb-$1.cnf
    ensure_secret_file "$cnf" "[client]
host=127.0.0.1
port=3306
protocol=tcp
user=$name
password=@PASSWORD@"
    if mariadb --defaults-extra-file="$cnf" --connect-timeout=5 -e "USE \`$database\`" >/dev/null 2>&1; then
        return 0
    fi
    log "mariadb: setting up account $name with $privileges on $database (its password: $cnf)"
    # The password travels on stdin, never in argv (root logs in through the unix socket).
    mariadb -u root <<SQL
CREATE DATABASE IF NOT EXISTS \`$database\` CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS '$name'@'127.0.0.1';
ALTER USER '$name'@'127.0.0.1' IDENTIFIED BY '$(sed -n 's/^password=//p' "$cnf")';
GRANT $privileges ON \`$database\`.* TO '$name'@'127.0.0.1';
SQL
    mariadb --defaults-extra-file="$cnf" --connect-timeout=5 -e "USE \`$database\`" >/dev/null \
        || die "mariadb: account $name cannot log in with $cnf; see /var/log/mysql/error.log"
}

setup_mariadb() {
    local how="already running" conf=/etc/mysql/mariadb.conf.d/90-hepstack.cnf
    install -d -m 0750 -o mysql -g adm /var/log/mysql
    local changed=0
    # skip-name-resolve: accounts are 'user'@'127.0.0.1', matched by address. mysqld_safe: the packaged
    # 50-mysqld_safe.cnf sends errors to syslog, which does not run here: to a file instead.
    write_if_changed "$conf" 0644 root:root "# written by hepstack scripts/setup-services.sh
[mariadbd]
bind-address = 127.0.0.1
port = 3306
skip-name-resolve
log-error = /var/log/mysql/error.log
[mysqld_safe]
skip-syslog
log-error = /var/log/mysql/error.log" && changed=1
    if mariadb_answers >/dev/null 2>&1; then
        if [ "$changed" = 1 ]; then
            how="restarted: $conf changed"
            mariadb-admin -u root shutdown
            wait_until "$startup_seconds" test ! -e /run/mysqld/mysqld.pid \
                || die "mariadb did not stop; see /var/log/mysql/error.log"
            setsid -f mysqld_safe </dev/null >>"$logdir/mysqld_safe.log" 2>&1
        fi
    else
        how=started
        setsid -f mysqld_safe </dev/null >>"$logdir/mysqld_safe.log" 2>&1
    fi
    wait_until "$startup_seconds" mariadb_answers \
        || die "mariadb did not come up on 127.0.0.1:3306; see /var/log/mysql/error.log"
    # The example's calibration database: lat writes (the calibration tool), lat_reader only reads
    # (what a job gets: a leaked job credential cannot change calibrations).
    mariadb_account lat "ALL PRIVILEGES" latcalib
    mariadb_account lat_reader "SELECT" latcalib
    # SLURM's accounting database (slurmdbd, configured by scripts/setup-schedulers.sh).
    mariadb_account slurm "ALL PRIVILEGES" slurm_acct_db
    endpoint mariadb "{
  \"host\": \"127.0.0.1\", \"port\": 3306, \"database\": \"latcalib\",
  \"writer\": {\"user\": \"lat\", \"option_file\": \"$secrets/mariadb-lat.cnf\"},
  \"reader\": {\"user\": \"lat_reader\", \"option_file\": \"$secrets/mariadb-lat_reader.cnf\"},
  \"log\": \"/var/log/mysql/error.log\"
}"
    status_line mariadb "127.0.0.1:3306" "$how"
}

# --- xrootd 5.5: a data server on port 1094 --------------------------------------------------------------
# Client time-outs: a wrong path or a dead server otherwise makes xrdcp retry for minutes (docs/host-facts.md).
xrootd_answers() {
    XRD_CONNECTIONRETRY=1 XRD_CONNECTIONWINDOW=5 XRD_REQUESTTIMEOUT=5 XRD_STREAMTIMEOUT=5 \
        timeout 15 xrdfs root://127.0.0.1:1094 stat / >/dev/null 2>&1
}

setup_xrootd() {
    local how="already running" conf=/etc/hepstack/xrootd.cfg base=/var/lib/hepstack/xrootd
    local xrdlog=$logdir/xrootd/xrootd.log
    # -R xrootd: the daemon drops to the packaged xrootd user, which must own its admin, data and log paths.
    install -d -m 0755 /var/lib/hepstack
    install -d -m 0755 -o xrootd -g xrootd "$base" "$base/adm" "$base/data" "$logdir/xrootd"
    local changed=0
    # xrootd 5.5 has no listen-address directive (xrd.port takes a port only: XrdConfig::xport), so it
    # listens on every address; xrd.allow makes it drop any client that is not this host's loopback.
    write_if_changed "$conf" 0644 root:root "# written by hepstack scripts/setup-services.sh
xrd.port 1094
xrd.allow host localhost
all.adminpath $base/adm
all.pidpath $base/adm
all.export /
oss.localroot $base/data
xrootd.chksum adler32" && changed=1
    local pidfile=$base/adm/xrootd.pid
    if xrootd_answers; then
        if [ "$changed" = 1 ]; then
            how="restarted: $conf changed"
            kill "$(cat "$pidfile")"
            wait_until "$startup_seconds" sh -c "! kill -0 \$(cat $pidfile)" \
                || die "xrootd did not stop; see $xrdlog"
            /usr/bin/xrootd -c "$conf" -l "$xrdlog" -R xrootd -b
        fi
    else
        how=started
        /usr/bin/xrootd -c "$conf" -l "$xrdlog" -R xrootd -b
    fi
    wait_until "$startup_seconds" xrootd_answers || die "xrootd did not come up on 127.0.0.1:1094; see $xrdlog"
    endpoint xrootd "{
  \"url\": \"root://127.0.0.1:1094\", \"data_dir\": \"$base/data\", \"checksum\": \"adler32\",
  \"log\": \"$xrdlog\"
}"
    status_line xrootd "127.0.0.1:1094, data in $base/data, adler32" "$how"
}

# --- sshd on 127.0.0.1:2222: the test user reaches "a remote site" (this host's SLURM and SGE) ------------
ssh_answers() {
    runuser -u "$test_user" -- ssh -p 2222 -o BatchMode=yes -o ConnectTimeout=5 \
        -o StrictHostKeyChecking=yes "$test_user@127.0.0.1" true
}

setup_sshd() {
    local how="already running" dir=/etc/hepstack/sshd sshlog=$logdir/sshd.log
    local conf=/etc/hepstack/sshd/sshd_config hostkey=/etc/hepstack/sshd/ssh_host_ed25519_key
    id "$test_user" >/dev/null 2>&1 || die "no user $test_user; scripts/setup-host.sh creates it"
    install -d -m 0755 "$dir"
    [ -s "$hostkey" ] || ssh-keygen -q -t ed25519 -N '' -C "hepstack test sshd" -f "$hostkey"
    local changed=0
    # Its own config, not /etc/ssh/sshd_config: keys only, the test user only, loopback only. SetEnv:
    # a login node's profile sets SGE's environment; a command over ssh reads no profile, so sshd sets it.
    write_if_changed "$conf" 0644 root:root "# written by hepstack scripts/setup-services.sh (test stand-in for a site's login node)
ListenAddress 127.0.0.1:2222
HostKey $hostkey
PidFile /run/hepstack-sshd.pid
AllowUsers $test_user
PermitRootLogin no
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM yes
X11Forwarding no
AllowAgentForwarding no
AllowTcpForwarding no
PrintMotd no
SetEnv SGE_ROOT=/var/lib/gridengine SGE_CELL=default
Subsystem sftp internal-sftp" && changed=1
    install -d -m 0755 /run/sshd   # privilege separation directory (sshd -t checks it too)
    /usr/sbin/sshd -t -f "$conf" || die "sshd rejects $conf"

    # The test user's key pair, authorised for itself, and the host key pinned in its known_hosts.
    local home
    home=$(getent passwd "$test_user" | cut -d: -f6)
    install -d -m 0700 -o "$test_user" -g "$test_user" "$home/.ssh"
    [ -s "$home/.ssh/id_ed25519" ] || runuser -u "$test_user" -- \
        ssh-keygen -q -t ed25519 -N '' -C "$test_user@hepstack-test-site" -f "$home/.ssh/id_ed25519"
    local line
    line=$(cat "$home/.ssh/id_ed25519.pub")
    grep -qxF "$line" "$home/.ssh/authorized_keys" 2>/dev/null || printf '%s\n' "$line" >> "$home/.ssh/authorized_keys"
    line="[127.0.0.1]:2222 $(cut -d' ' -f1,2 "$hostkey.pub")"
    grep -qxF "$line" "$home/.ssh/known_hosts" 2>/dev/null || printf '%s\n' "$line" >> "$home/.ssh/known_hosts"
    chown "$test_user:$test_user" "$home/.ssh/authorized_keys" "$home/.ssh/known_hosts"
    chmod 0600 "$home/.ssh/authorized_keys" "$home/.ssh/known_hosts"

    local pid
    pid=$(cat /run/hepstack-sshd.pid 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        if [ "$changed" = 1 ]; then
            how="reloaded: $conf changed"
            kill -HUP "$pid"   # sshd re-executes itself with the new config (sshd(8) SIGHUP)
        fi
    else
        how=started
        /usr/sbin/sshd -f "$conf" -E "$sshlog"
    fi
    wait_until "$startup_seconds" ssh_answers \
        || die "$test_user cannot log in over ssh to 127.0.0.1:2222; see $sshlog"
    endpoint ssh "{
  \"host\": \"127.0.0.1\", \"port\": 2222, \"user\": \"$test_user\",
  \"identity_file\": \"$home/.ssh/id_ed25519\", \"known_hosts\": \"$home/.ssh/known_hosts\",
  \"log\": \"$sshlog\"
}"
    status_line sshd "127.0.0.1:2222, keys only, user $test_user" "$how"
}

# --- Chromium and chromedriver (Debian's) for the browser tests ------------------------------------------
setup_chromium() {
    local scratch
    scratch=$(mktemp -d /tmp/hepstack-chromium.XXXXXX)
    # docs/host-facts.md: headless as root needs --no-sandbox; a dbus error line on stderr is harmless.
    if ! timeout 60 /usr/bin/chromium --headless=new --no-sandbox --disable-gpu --user-data-dir="$scratch/profile" \
        --screenshot="$scratch/shot.png" about:blank >"$scratch/log" 2>&1 || [ ! -s "$scratch/shot.png" ]; then
        cp "$scratch/log" "$logdir/chromium-check.log"
        rm -rf "$scratch"
        die "chromium --headless=new made no screenshot; see $logdir/chromium-check.log"
    fi
    rm -rf "$scratch"
    endpoint chromium "{
  \"browser\": \"/usr/bin/chromium\", \"driver\": \"/usr/bin/chromedriver\"
}"
    log "chromium: $(/usr/bin/chromium --version 2>/dev/null), $(/usr/bin/chromedriver --version | cut -d' ' -f1,2); headless screenshot works"
}

# The packages of each service (installed in one go: one apt-get update on a fresh machine).
declare -A packages=(
    [postgresql]="postgresql-15 postgresql-client-15"
    [mariadb]="mariadb-server mariadb-client"
    [xrootd]="xrootd-server xrootd-client python3-xrootd"  # xrdcp is what job scripts call
    [sshd]="openssh-server openssh-client"
    [chromium]="chromium chromium-driver"
)
all_services=(postgresql mariadb xrootd sshd chromium)
chosen=("$@")
[ $# -gt 0 ] || chosen=("${all_services[@]}")
wanted=()
for service in "${chosen[@]}"; do
    [ -n "${packages[$service]:-}" ] || die "unknown service '$service' (known: ${all_services[*]})"
    read -ra names <<<"${packages[$service]}"
    wanted+=("${names[@]}")
done
apt_install "${wanted[@]}"
for service in "${chosen[@]}"; do
    "setup_$service"
done
