#!/usr/bin/env bash
# Launcher benchmarks (docs/PERFORMANCE.md, "Launcher"):
#   1. Slurm: submission -> RUNNING through the launcher's slurm backend against sbatch alone,
#      interleaved job by job in one run, same polling (melissa-bench-launcher slurm-overhead);
#   2. memory: a study of 2,000 short simulations on the openmpi backend, RSS of the launcher
#      and the server while simulations 100-199 run against while the last 100 run (memory.py).
#
#   Benchmarks/launcher/run.sh [--jobs N] [--sims N] [--skip slurm|memory]
# Needs ./build (Scripts/build.sh) for the memory part, and starts the one-node test Slurm
# (Scripts/slurm-cluster.sh) for the Slurm part if none answers.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
jobs=30 sims=2000 skip=""
while [ $# -gt 0 ]; do
  case "$1" in
    --jobs) jobs=$2; shift 2 ;;
    --sims) sims=$2; shift 2 ;;
    --skip) skip=$2; shift 2 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
source Scripts/mpi-env.sh
if [ "$skip" != slurm ]; then
  sinfo >/dev/null 2>&1 || Scripts/slurm-cluster.sh start
  swift build -c release --product melissa-bench-launcher >/dev/null
  "$(swift build -c release --show-bin-path)/melissa-bench-launcher" slurm-overhead --jobs "$jobs" --poll 0.05
fi
if [ "$skip" != memory ]; then
  .venv/bin/python Benchmarks/launcher/memory.py --sims "$sims"
fi
