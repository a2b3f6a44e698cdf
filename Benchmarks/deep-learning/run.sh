#!/usr/bin/env bash
# Deep-learning benchmark (docs/PERFORMANCE.md, "Deep learning"): samples per second reaching the
# trainer against a plain PyTorch loop over the same tensors in memory, at 2 KiB and 1 MiB
# samples, and the server rank's peak memory against its buffer. Needs the install in
# <repo>/build (Scripts/build.sh) and the .venv with torch (Scripts/install-deps.sh torch).
#
#   Benchmarks/deep-learning/run.sh [--short] [--prefix DIR] [--work DIR] [--json FILE]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/Scripts/mpi-env.sh"
exec "$root/.venv/bin/python" "$root/Benchmarks/deep-learning/run.py" "$@"
