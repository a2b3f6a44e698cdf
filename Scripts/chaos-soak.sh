#!/usr/bin/env bash
# The chaos harness's long mode: random fault schedules against real studies (Tests/e2e/chaos.py).
#   Scripts/chaos-soak.sh [--schedules N] [--seed S] [--kinds k1,k2] [--out table.md]
#                         [--workdir DIR] [--timeout SECONDS] [--keep] [--no-checkpoint-kill]
# Defaults: 200 schedules from seed 1, every fault kind (client_rank_kill, job_kill, rank_hang,
# early_exit0, finalize_crash, late_data, server_rank_kill, server_kill_in_checkpoint,
# launcher_kill_resume, combo). Prints one row per schedule (seed, kinds, outcome, wall time,
# overhead vs the fault-free run of the same shape) and a per-kind summary, and writes the same
# table as Markdown to --out (default <workdir>/chaos-soak.md). Failing studies are kept in
# <workdir>/seed<S>/ with chaos-report.txt. Exit code 0 when every schedule passed, 1 otherwise.
# Needs Scripts/build.sh (prefix: $MELISSA_PREFIX or <repo>/build) and the .venv.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
case "${1:-}" in -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
source "$root/Scripts/mpi-env.sh"
python="$root/.venv/bin/python"
[ -x "$python" ] || python=python3
export MELISSA_PREFIX=${MELISSA_PREFIX:-$root/build}
[ -x "$MELISSA_PREFIX/bin/melissa-launcher" ] || { echo "chaos-soak.sh: run Scripts/build.sh first ($MELISSA_PREFIX)" >&2; exit 2; }
exec "$python" "$root/Tests/e2e/chaos.py" soak "$@"
