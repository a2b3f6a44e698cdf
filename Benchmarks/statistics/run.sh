#!/usr/bin/env bash
# Statistics kernels benchmark: MelissaStatistics against iterative-stats on the same data.
#
#   Benchmarks/statistics/run.sh [--short] [--scratch-path DIR] [--target-cpu CPU] [--messages N] [--cells K] [--repeat R] [--steps S]
#
# Builds melissa-bench-statistics in release mode, generates N seeded messages of K
# float64 values, folds them into FieldStatistics (moments up to order 4 + min + max) and
# SobolMartinez (p = 3) in Swift and into IterativeMoments(max_order=4) + IterativeExtrema
# and IterativeSensitivityMartinez(nb_parms=3) in Python, checks that the results agree at
# 1e-10 relative (fails loudly otherwise), and prints element-updates per second of both
# and the ratio ours / iterative-stats. Both sides are single-threaded.
#
#   default: N = 2000, K = 10000, best of 3 runs each (well under a minute once built)
#   --short: N = 500,  K = 2000,  1 run each (a few seconds once built)
#   --messages/--cells/--repeat override N (a multiple of 5), K and the number of runs;
#   --steps S spreads the messages over S time steps (state S × K, as in a real study);
#   --target-cpu CPU builds our side for CPU (default: native, this machine's CPU, as numpy
#     picks its kernels for this CPU at run time; 'baseline' for the generic x86-64 build).
#
# Environment: PYTHON (default: .venv/bin/python if present, else python3).
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

messages=2000 cells=10000 repeats=3 steps=1 target_cpu=native
scratch=()
while [ $# -gt 0 ]; do
    case "$1" in
        --short) messages=500 cells=2000 repeats=1 ;;
        --scratch-path) scratch=(--scratch-path "$2"); shift ;;
        --scratch-path=*) scratch=(--scratch-path "${1#*=}") ;;
        --messages) messages="$2"; shift ;;
        --cells) cells="$2"; shift ;;
        --repeat) repeats="$2"; shift ;;
        --steps) steps="$2"; shift ;;
        --target-cpu) target_cpu="$2"; shift ;;
        --target-cpu=*) target_cpu="${1#*=}" ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "run.sh: unknown argument $1 (see run.sh --help)" >&2; exit 2 ;;
    esac
    shift
done

python="${PYTHON:-}"
if [ -z "$python" ]; then
    if [ -x "$root/.venv/bin/python" ]; then python="$root/.venv/bin/python"; else python=python3; fi
fi
if ! "$python" -c 'import numpy, iterative_stats' 2>/dev/null; then
    echo "run.sh: $python cannot import numpy and iterative_stats (pip install iterative-stats)" >&2
    exit 1
fi

# A CPU-specific build gets its own scratch directory, so it never mixes objects with the
# baseline build of the same checkout.
cpu_flags=()
if [ "$target_cpu" != baseline ]; then
    cpu_flags=(-Xswiftc -target-cpu -Xswiftc "$target_cpu")
    if [ ${#scratch[@]} -eq 0 ]; then scratch=(--scratch-path "$root/.build-cpu-$target_cpu"); else scratch[1]="${scratch[1]}-cpu-$target_cpu"; fi
fi
swift build -c release --product melissa-bench-statistics "${scratch[@]}" "${cpu_flags[@]}" >&2
bin="$(swift build -c release --show-bin-path "${scratch[@]}" "${cpu_flags[@]}")/melissa-bench-statistics"

work="$(mktemp -d "${TMPDIR:-/tmp}/melissa-bench-statistics.XXXXXX")"
trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

"$bin" --messages "$messages" --cells "$cells" --repeat "$repeats" --steps "$steps" \
    --data-out "$work/data.npy" --results-out "$work" | tee "$work/swift.txt"
"$python" "$root/Benchmarks/statistics/reference.py" --data "$work/data.npy" --results "$work" \
    --repeat "$repeats" --steps "$steps" | tee "$work/python.txt"

rate() { awk -v key="$2" '$2 == key { for (i = 3; i <= NF; i++) if ($i ~ /^rate=/) { sub(/^rate=/, "", $i); print $i } }' "$1"; }
echo
echo "Statistics kernels: $messages messages x $cells float64 values, $steps time step(s), single-threaded, best of $repeats, ours built for target CPU '$target_cpu'"
printf '%-34s %14s %16s %8s\n' "kernel" "ours (elem/s)" "iterative-stats" "ratio"
for kernel in moments4+extrema sobol-martinez-p3; do
    ours="$(rate "$work/swift.txt" "$kernel")"
    theirs="$(rate "$work/python.txt" "$kernel")"
    awk -v k="$kernel" -v a="$ours" -v b="$theirs" \
        'BEGIN { printf "%-34s %14.4g %16.4g %7.1fx\n", k, a, b, a / b }'
done
