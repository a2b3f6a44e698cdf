#!/usr/bin/env bash
# A real one-node OAR 2.5 batch system on this machine (Debian 12, run as root,
# no systemd), for testing Melissa's OAR backend against the real commands.
#
#   Scripts/oar-cluster.sh install   # Debian packages (Scripts/install-deps.sh oar)
#   Scripts/oar-cluster.sh start     # postgres + db + oar.conf + node sshd + oar-server + resources + job user
#   Scripts/oar-cluster.sh status
#   Scripts/oar-cluster.sh stop      # oardel unfinished jobs, then stop only what `start` started
#
# Submit as the job user (root and oar are refused by an admission rule):
#   su melissa-oar -c 'cd ~ && oarsub -l core=1 "sleep 1"'
#
# Environment:
#   MELISSA_OAR_STATE    state dir (postgres cluster, pid files, logs, secrets); default /var/tmp/melissa-oar
#   MELISSA_OAR_PG_PORT  port of the private postgres on 127.0.0.1; default 55432
#   MELISSA_OAR_USER     job user to create; default melissa-oar
#
# System files this script touches: /etc/oar/oar.conf (a handful of keys, the
# original is saved once as /etc/oar/oar.conf.before-melissa) and
# /etc/oar/melissa_job_resource_manager_cgroups.pl (a copy of the stock job
# resource manager; see write_job_resource_manager).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE=${MELISSA_OAR_STATE:-/var/tmp/melissa-oar}
PG_PORT=${MELISSA_OAR_PG_PORT:-55432}
JOB_USER=${MELISSA_OAR_USER:-melissa-oar}

PG_BIN=/usr/lib/postgresql/15/bin
PG_DATA=$STATE/pg
PG_SOCK=$STATE/pg-sock
PG_LOG=$STATE/postgres.log
SECRETS=$STATE/secrets
SSHD_PID=$STATE/sshd.pid
SERVER_PID=$STATE/oar-server.pid
OAR_CONF=/etc/oar/oar.conf
OAR_NODE_SSHD_PORT=6667   # fixed by /etc/oar/sshd_config and OPENSSH_CMD in oar.conf
OAR_SERVER_PORT=6666      # SERVER_PORT in oar.conf
# oar-server (a tiny perl wrapper) always writes Almighty's pid here; we copy
# it into the state dir so that `stop` only ever kills what `start` started.
SYSTEM_SERVER_PID=/var/run/oar-server.pid
JRM_STOCK=/etc/oar/job_resource_manager_cgroups.pl
JRM_COPY=/etc/oar/melissa_job_resource_manager_cgroups.pl

log() { echo "oar-cluster: $*" >&2; }
die() { log "error: $*"; exit 1; }

need_root() { [ "$(id -u)" = 0 ] || die "must run as root"; }

# True if the pid in file $1 names a live process (optionally whose command
# line contains $2, to guard against a recycled pid).
pid_alive() {
    local file=$1 pattern=${2:-} pid
    # The file may vanish between the two reads (a daemon removes it as it exits).
    pid=$(head -n1 "$file" 2>/dev/null | tr -dc 0-9) || true
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    [ -z "$pattern" ] || tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$pattern"
}

port_listening() { ss -ltnH "sport = :$1" 2>/dev/null | grep -q .; }

pg_running() { [ -s "$PG_DATA/postmaster.pid" ] && runuser -u postgres -- "$PG_BIN/pg_ctl" status -D "$PG_DATA" >/dev/null 2>&1; }
sshd_running() { pid_alive "$SSHD_PID" sshd; }
server_running() { pid_alive "$SERVER_PID" Almighty; }

# Wait up to $1 seconds for command "${@:2}" to succeed.
wait_for() {
    local secs=$1; shift
    local i
    for ((i = 0; i < secs * 4; i++)); do
        "$@" && return 0
        sleep 0.25
    done
    return 1
}

# Stop the process whose pid is in file $1 (TERM, then KILL after $2 s).
stop_pidfile() {
    local file=$1 secs=$2 pid
    pid=$(head -n1 "$file" 2>/dev/null | tr -dc 0-9) || true
    [ -n "$pid" ] || { rm -f "$file"; return 0; }
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_for "$secs" eval "! kill -0 $pid 2>/dev/null"; then
        log "pid $pid ignored TERM for ${secs}s, sending KILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$file"
}

# ---------------------------------------------------------------------------
cmd_install() {
    need_root
    "$ROOT/Scripts/install-deps.sh" oar
}

# Exits with one line naming what is missing when OAR's packages are not installed.
require_installed() {
    local missing
    missing=$("$ROOT/Scripts/install-deps.sh" --missing oar) && return 0
    die "OAR is not installed (missing Debian packages: $(echo $missing)); run Scripts/install-deps.sh oar"
}

# ---------------------------------------------------------------------------
gen_secret() { head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# Set KEY="VALUE" in oar.conf, replacing an existing uncommented line.
set_conf() {
    local key=$1 value=$2
    if grep -q "^$key=" "$OAR_CONF"; then
        sed -i "s|^$key=.*|$key=\"$value\"|" "$OAR_CONF"
    else
        printf '%s="%s"\n' "$key" "$value" >>"$OAR_CONF"
    fi
}

# The stock cgroups job resource manager, after the last job of a user on a
# node, runs `find /tmp /dev/shm /var/tmp -user JOBUSER -delete`: it would wipe
# every file the job user owns there (build trees, other tests' data). Our copy
# empties that list and changes nothing else.
write_job_resource_manager() {
    local tmp
    tmp=$(mktemp /etc/oar/.melissa_jrm.XXXXXX)
    sed 's|^my @Tmp_dir_to_clear = (.*);|my @Tmp_dir_to_clear = (); # Melissa: never purge the job user'"'"'s files|' \
        "$JRM_STOCK" >"$tmp"
    grep -q '^my @Tmp_dir_to_clear = ();' "$tmp" \
        || { rm -f "$tmp"; die "could not neutralise @Tmp_dir_to_clear in a copy of $JRM_STOCK"; }
    chmod --reference="$JRM_STOCK" "$tmp"
    chown --reference="$JRM_STOCK" "$tmp"
    mv -f "$tmp" "$JRM_COPY"
}

configure_oar() {
    # shellcheck disable=SC1090
    source "$SECRETS"
    [ -e "$OAR_CONF.before-melissa" ] || cp -p "$OAR_CONF" "$OAR_CONF.before-melissa"
    set_conf DB_HOSTNAME 127.0.0.1
    set_conf DB_PORT "$PG_PORT"
    # Both passwords are empty in the shipped file; OAR then cannot log in over TCP.
    set_conf DB_BASE_PASSWD "$DB_PASS"
    set_conf DB_BASE_PASSWD_RO "$DB_RO_PASS"
    set_conf SERVER_HOSTNAME localhost
    # Default 10 s: the scheduler then waits ~12 s between jobs.
    set_conf SCHEDULER_MIN_TIME_BETWEEN_2_CALLS 0
    write_job_resource_manager
    set_conf JOB_RESOURCE_MANAGER_FILE "$JRM_COPY"
}

start_postgres() {
    if pg_running; then
        log "postgres already running (port $PG_PORT)"
        return 0
    fi
    port_listening "$PG_PORT" && die "port $PG_PORT is taken by another process (set MELISSA_OAR_PG_PORT)"
    # The state dir must be traversable by the postgres user (initdb refuses
    # to run as root, so the cluster belongs to postgres).
    install -d -m 755 "$STATE"
    install -d -m 700 -o postgres -g postgres "$PG_SOCK"
    if [ ! -s "$PG_DATA/PG_VERSION" ]; then
        log "initdb $PG_DATA"
        rm -rf "$PG_DATA"
        install -d -m 700 -o postgres -g postgres "$PG_DATA"
        # Fresh cluster => fresh secrets: the admin password lets
        # oar-database create the OAR db over TCP (see create_database).
        umask 077
        {
            echo "PG_ADMIN_PASS=$(gen_secret)"
            echo "DB_PASS=$(gen_secret)"
            echo "DB_RO_PASS=$(gen_secret)"
        } >"$SECRETS"
        umask 022
        local pwfile
        pwfile=$(mktemp "$PG_SOCK/pw.XXXXXX")
        # shellcheck disable=SC1090
        (source "$SECRETS"; echo "$PG_ADMIN_PASS") >"$pwfile"
        chown postgres "$pwfile"
        runuser -u postgres -- "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --pwfile="$pwfile" \
            --auth-local=peer --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$STATE/initdb.log" 2>&1 \
            || { rm -f "$pwfile"; cat "$STATE/initdb.log" >&2; die "initdb failed"; }
        rm -f "$pwfile"
    fi
    [ -s "$SECRETS" ] || die "$SECRETS is missing but $PG_DATA exists; remove $STATE to start from scratch"
    # pg_ctl opens its log as the postgres user; the state dir is root's.
    touch "$PG_LOG" && chown postgres "$PG_LOG"
    # A private cluster on its own port and socket dir, so it never meets a
    # system postgres (5432, /var/run/postgresql).
    runuser -u postgres -- "$PG_BIN/pg_ctl" start -w -t 60 -D "$PG_DATA" -l "$PG_LOG" \
        -o "-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories=$PG_SOCK" >/dev/null \
        || { tail -n 20 "$PG_LOG" >&2; die "postgres did not start"; }
    log "postgres up on 127.0.0.1:$PG_PORT"
}

create_database() {
    if oar-database --check >/dev/null 2>&1; then
        return 0
    fi
    # shellcheck disable=SC1090
    source "$SECRETS"
    log "creating the OAR database"
    # `--db-is-local` would run psql as postgres on the default port/socket;
    # our cluster is elsewhere, so connect over TCP as the admin user.
    oar-database --create -y --db-host=127.0.0.1 --db-port="$PG_PORT" \
        --db-admin-user=postgres --db-admin-pass="$PG_ADMIN_PASS" >"$STATE/oar-database.log" 2>&1 \
        || { cat "$STATE/oar-database.log" >&2; die "oar-database --create failed"; }
    oar-database --check >/dev/null 2>&1 || die "oar-database --check fails after creation"
}

start_sshd() {
    if sshd_running; then
        log "node sshd already running (port $OAR_NODE_SSHD_PORT)"
        return 0
    fi
    port_listening "$OAR_NODE_SSHD_PORT" && die "port $OAR_NODE_SSHD_PORT is taken by another process (an OAR node sshd not started by this script?)"
    # sshd's privilege separation directory; normally created by its init script.
    mkdir -p /run/sshd
    # OAR's own sshd (AllowUsers oar, port 6667): the server reaches the node
    # through it and job processes run under it.
    /usr/sbin/sshd -f /etc/oar/sshd_config -o PidFile="$SSHD_PID" -E "$STATE/sshd.log"
    wait_for 10 sshd_running || die "node sshd did not start (see $STATE/sshd.log)"
    log "node sshd up on port $OAR_NODE_SSHD_PORT"
}

add_resources() {
    # One resource per core on host localhost; only on a fresh database.
    if [ -n "$(oarnodes -l 2>/dev/null)" ]; then
        return 0
    fi
    local ncores i
    ncores=$(nproc)
    log "adding $ncores core resources on host localhost"
    # host is a string property (-c); cpu and core are integers.
    oarproperty -l | grep -qx host || oarproperty -a host -c >/dev/null
    oarproperty -l | grep -qx cpu || oarproperty -a cpu >/dev/null
    oarproperty -l | grep -qx core || oarproperty -a core >/dev/null
    for ((i = 1; i <= ncores; i++)); do
        # cpuset = the cpu the job resource manager binds the job to.
        oarnodesetting -a -h localhost -p host=localhost -p cpu=1 -p core=$i -p cpuset=$((i - 1)) >/dev/null
    done
}

start_server() {
    if server_running; then
        log "oar-server already running"
        return 0
    fi
    if pid_alive "$SYSTEM_SERVER_PID" Almighty || port_listening "$OAR_SERVER_PORT"; then
        die "an OAR server not started by this script is running (port $OAR_SERVER_PORT or $SYSTEM_SERVER_PID)"
    fi
    rm -f "$SYSTEM_SERVER_PID"
    /usr/sbin/oar-server
    wait_for 5 test -s "$SYSTEM_SERVER_PID" || die "oar-server wrote no pid file"
    cp "$SYSTEM_SERVER_PID" "$SERVER_PID"
    # Almighty listens on 6666 for the notifications oarsub/oardel send it.
    wait_for 30 port_listening "$OAR_SERVER_PORT" || die "Almighty does not listen on $OAR_SERVER_PORT (see /var/log/oar.log)"
    log "oar-server up (Almighty pid $(cat "$SERVER_PID"))"
}

all_alive() {
    local states
    states=$(oarnodes -s 2>/dev/null | awk -F' : ' '/ : /{print $2}')
    [ -n "$states" ] && ! grep -qv '^Alive$' <<<"$states"
}

cmd_start() {
    need_root
    require_installed
    if pg_running && sshd_running && server_running; then
        echo "OAR already running"
        return 0
    fi
    install -d -m 755 "$STATE"
    start_postgres
    configure_oar
    create_database
    add_resources
    if ! id "$JOB_USER" >/dev/null 2>&1; then
        # OAR's admission rules refuse jobs from root and oar.
        useradd -m -s /bin/bash "$JOB_USER"
        log "created job user $JOB_USER"
    fi
    start_sshd
    start_server
    # The node may have been left Suspected/Absent by an earlier run; we know
    # it is up, so say so (what oar-node's start_oar_node hook is meant for).
    oarnodesetting -s Alive -h localhost >/dev/null 2>&1 || true
    wait_for 60 all_alive || { oarnodes -s >&2 || true; die "node not Alive after 60 s"; }
    echo "OAR up"
}

# ---------------------------------------------------------------------------
unfinished_jobs() {
    # `oarstat` without -j lists only jobs not yet finished; ids start lines.
    oarstat 2>/dev/null | awk '$1 ~ /^[0-9]+$/ {print $1}'
}
no_unfinished_jobs() { [ -z "$(unfinished_jobs)" ]; }

cmd_stop() {
    need_root
    local stopped=()
    if server_running && pg_running; then
        local jobs
        jobs=$(unfinished_jobs)
        if [ -n "$jobs" ]; then
            # Job processes live under the node sshd, not under Almighty:
            # stopping the server alone would leave them running.
            log "oardel $(echo $jobs)"
            # shellcheck disable=SC2086
            oardel $jobs >/dev/null 2>&1 || true
            wait_for 60 no_unfinished_jobs || log "jobs still unfinished after 60 s: $(echo $(unfinished_jobs))"
        fi
    fi
    if server_running; then
        stop_pidfile "$SERVER_PID" 20
        # Almighty's helpers (appendice server, sarko, …) exit with it; wait for
        # its port so that a following start can bind it.
        wait_for 20 eval '! port_listening $OAR_SERVER_PORT' || log "port $OAR_SERVER_PORT still in use"
        rm -f "$SYSTEM_SERVER_PID"
        stopped+=(oar-server)
    else
        rm -f "$SERVER_PID"
    fi
    if sshd_running; then
        stop_pidfile "$SSHD_PID" 10
        stopped+=("node sshd")
    else
        rm -f "$SSHD_PID"
    fi
    if pg_running; then
        runuser -u postgres -- "$PG_BIN/pg_ctl" stop -w -t 60 -m fast -D "$PG_DATA" >/dev/null
        stopped+=(postgres)
    fi
    if [ ${#stopped[@]} -eq 0 ]; then
        echo "OAR was not running"
    else
        local IFS=,
        echo "OAR stopped (${stopped[*]})"
    fi
}

cmd_status() {  # exits 1 unless everything runs; the last line says what is missing
    require_installed
    local down=()
    if pg_running; then echo "postgres:   running (127.0.0.1:$PG_PORT, $PG_DATA)"; else echo "postgres:   stopped"; down+=(postgres); fi
    if sshd_running; then echo "node sshd:  running (pid $(head -n1 "$SSHD_PID" 2>/dev/null), port $OAR_NODE_SSHD_PORT)"; else echo "node sshd:  stopped"; down+=("node sshd"); fi
    if server_running; then echo "oar-server: running (Almighty pid $(head -n1 "$SERVER_PID" 2>/dev/null))"; else echo "oar-server: stopped"; down+=(oar-server); fi
    if [ ${#down[@]} -gt 0 ]; then
        local IFS=,
        echo "OAR is not running: ${down[*]} stopped (state in $STATE); start it with Scripts/oar-cluster.sh start"
        return 1
    fi
    echo "nodes:"
    oarnodes -s 2>&1 | sed 's/^/  /'
    echo "unfinished jobs: $(echo $(unfinished_jobs))"
}

case ${1:-} in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
