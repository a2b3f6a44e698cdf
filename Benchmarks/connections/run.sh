#!/usr/bin/env bash
# Connection budget: what ONE server rank pays per connected client rank (fds, memory, connect
# time, ingest), at N = 100, 1 000 and 4 000 client ranks (docs/PERFORMANCE.md, "Connection budget").
#
#   Benchmarks/connections/run.sh [--short] [--prefix DIR] [--work DIR] [--json FILE]
#       [--ranks N,N,..] [--cells-per-rank C] [--messages M] [--port P] [--plain]
#       [--server-nofile SOFT[:HARD]] [--settle S] [--hold S] [--period S] [--timeout S]
#
# For each N a real study runs through <prefix>/bin/melissa-launcher (scheduler openmpi, one
# server rank, one simulation, mean on). Its simulation is driver.py: ONE process that does one
# handshake claiming clientCommSize N and then plays the N client ranks itself, speaking the
# wire protocol directly (docs/PROTOCOL.md): one PUSH socket (one TCP connection) per emulated
# rank and server rank, CURVE-authenticated like the client library's, step 0 sent on each as
# soon as it is connected, all held idle for --hold s, then the remaining steps (~M messages of
# 48 + 8 C bytes). run.py samples the melissa-server process every --period s (fds, RSS, HWM,
# threads, CPU, ESTABLISHED connections to its data port) and prints, per N, the idle baseline,
# the all-connected state, fd and KiB per client rank, the connect time, the server CPU spent
# connecting and the ingest rate; it checks that every message was accepted and the mean is what
# was sent (a failure at some N is reported with its log lines; exit status 1).
#
#   default: N = 100, 1000, 4000; 4 cells per rank (80-byte messages); ~200 000 ingest messages
#            per N (about 40 s in all on the 2-core development VM)
#   --short: N = 50, 200; ~2 000 messages; shorter pauses (the test suite runs this)
#   --plain: data_encryption false (PLAIN data sockets instead of CURVE)
#   --server-nofile SOFT[:HARD]: open-file limits for the launcher, mpirun and the server (e.g.
#            1024:1024, a common default, to see what happens when N exceeds it); the driver
#            raises its own (as root, its hard limit too)
#   --work DIR keeps the studies, configs, events and samples (default: a temporary directory)
#
# Beside it, backlog.py measures the same burst of connections against a bare libzmq PULL socket
# with listen backlogs of 100 (libzmq's default, the server's) and 4096.
#
# Environment: PYTHON (default <repo>/.venv/bin/python, with pyzmq; numpy + netCDF4 for the mean check).
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
prefix="$root/build" work=""
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --short|--plain) args+=("$1") ;;
        --prefix) prefix="$2"; shift ;;
        --work) work="$2"; shift ;;
        --json|--ranks|--cells-per-rank|--messages|--port|--server-nofile|--settle|--hold|--period|--timeout)
            [ $# -ge 2 ] || { echo "run.sh: $1 needs a value" >&2; exit 2; }
            args+=("$1" "$2"); shift ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "run.sh: unknown argument $1 (see run.sh --help)" >&2; exit 2 ;;
    esac
    shift
done

python="${PYTHON:-$root/.venv/bin/python}"
"$python" -c 'import zmq' 2>/dev/null || { echo "run.sh: $python has no pyzmq" >&2; exit 2; }
[ -x "$prefix/bin/melissa-launcher" ] || { echo "run.sh: no $prefix/bin/melissa-launcher (Scripts/build.sh --prefix $prefix)" >&2; exit 2; }
source "$root/Scripts/mpi-env.sh"
if [ -z "$work" ]; then
    work="$(mktemp -d "${TMPDIR:-/tmp}/melissa-bench-connections.XXXXXX")"
    trap 'rm -rf "$work"' EXIT
fi
PYTHONDONTWRITEBYTECODE=1 "$python" "$root/Benchmarks/connections/run.py" --launcher "$prefix/bin/melissa-launcher" \
    --python "$python" --work "$work" "${args[@]}"
