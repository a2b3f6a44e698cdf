#!/usr/bin/env bash
# Ingest benchmark: our server's data rate against the raw libzmq ceiling and a Python reference
# server (pyzmq + numpy + iterative-stats, what the modern Melissa server does), in one run.
#
#   Benchmarks/ingest/run.sh [--short] [--rss] [--prefix DIR] [--work DIR] [--json FILE]
#       [--sizes B,B,..] [--messages N,N,..] [--simulations N] [--fields F] [--skip raw,raw-nm,ours,ours-plain,ref]
#       [--port P] [--start-delay S] [--job-limit J] [--server-ranks M]
#       [--server-hwm H] [--client-hwm H] [--server-delay-us U]
#
# Builds melissa-bench-ingest (release; MELISSA_BENCH_INGEST names another build) and, unless
# --prefix names an existing install, installs the project with Scripts/build.sh into
# <repo>/build. For each payload size (default 1 KiB, 64 KiB, 1 MiB) it streams the same number
# of messages of that size (plus the 48-byte header)
#   raw:    from one PUSH process to one PULL process, libzmq called directly;
#   raw-nm: from N PUSH processes (one socket per puller, sent to in turn) to 2 PULL processes;
#   ours:   from N synthetic clients (default 8, the real client library, one MPI rank each,
#           streaming together from a common start time) to melissa-server under `mpirun -np 2`
#           with mean and variance on, run by melissa-launcher; the rate is the server's
#           summary.json `ingest` window; data sockets CURVE-encrypted (the default);
#   ours-plain: the same study with server_config.data_encryption false (PLAIN, unencrypted);
#   ref:    from the same clients to Benchmarks/ingest/reference_server.py on two processes;
# checks that ours, ours-plain and ref computed the exact mean and variance of what was sent and
# that ours accepted every message (exits 1 otherwise), then prints GB/s of each side, the ratios
# ours/raw, ours/raw-nm, ours/ref, ours-plain/raw-nm, ours-plain/ref and ours/ours-plain (what encryption costs), CPU time per GB (every process of a side, and the receivers alone)
# and page faults per message. docs/PERFORMANCE.md has the figures and how to read them.
#
#   default: 200 000 x 1 KiB, 16 384 x 64 KiB, 1 024 x 1 MiB messages (about 1 GiB each for the
#            larger sizes; about three minutes, most of it the Python reference)
#   --short: 2 000, 256, 32 messages, 2 clients (a few seconds: the test suite runs it)
#   --rss:   also sample our server's memory (RSS) and print it after warm-up, at the end, at most
#   --server-hwm H / --client-hwm H: study_options.zmq_hwm and MELISSA_ZMQ_HWM for our study;
#   --server-delay-us U: our server sleeps U µs per message (MELISSA_FAULT_INGEST_DELAY_US);
#            together they show back-pressure: clients slow down, every message arrives once
#   --job-limit J --start-delay 0: a long study of many short simulations, J at a time
#
# Environment: PYTHON (default <repo>/.venv/bin/python); the benchmark installs pyzmq, numpy,
# netCDF4 and iterative-stats into that virtual environment when they are missing.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
prefix="$root/build" work="" short=0
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --short) short=1 ;;
        --rss) args+=(--rss) ;;
        --prefix) prefix="$2"; shift ;;
        --work) work="$2"; shift ;;
        --sizes|--messages|--simulations|--fields|--skip|--port|--json|--server-delay-us|--client-hwm|--server-hwm|--server-ranks|--start-delay|--job-limit)
            [ $# -ge 2 ] || { echo "run.sh: $1 needs a value" >&2; exit 2; }
            args+=("$1" "$2"); shift ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "run.sh: unknown argument $1 (see run.sh --help)" >&2; exit 2 ;;
    esac
    shift
done
if [ "$short" = 1 ]; then args=(--messages 2000,256,32 --simulations 2 --start-delay 1 "${args[@]}"); fi

python="${PYTHON:-$root/.venv/bin/python}"
if [ ! -x "$python" ]; then python3 -m venv "$root/.venv"; python="$root/.venv/bin/python"; fi
if ! "$python" -c 'import zmq, numpy, netCDF4, iterative_stats' 2>/dev/null; then
    echo "run.sh: installing pyzmq numpy netCDF4 iterative-stats into $(dirname "$(dirname "$python")")" >&2
    "$python" -m pip install -q pyzmq numpy netCDF4 iterative-stats >&2
fi

source "$root/Scripts/mpi-env.sh"
if [ ! -x "$prefix/bin/melissa-launcher" ]; then "$root/Scripts/build.sh" --prefix "$prefix" >&2; fi
bench="${MELISSA_BENCH_INGEST:-}"
if [ -z "$bench" ]; then
    swift build -c release --product melissa-bench-ingest >&2
    bench="$(swift build -c release --show-bin-path)/melissa-bench-ingest"
fi

if [ -z "$work" ]; then
    work="$(mktemp -d "${TMPDIR:-/tmp}/melissa-bench-ingest.XXXXXX")"
    trap 'rm -rf "$work"' EXIT
fi
"$python" "$root/Benchmarks/ingest/run.py" --bench "$bench" --launcher "$prefix/bin/melissa-launcher" \
    --python "$python" --work "$work" "${args[@]}"
