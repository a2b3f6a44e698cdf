#!/usr/bin/env bash
# The README's second command: unit and integration tests (swift test), then the
# end-to-end tests (real studies under mpirun, Slurm and OAR, checked against numpy).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# Everything the suite uses, before anything starts: compilers and libraries, the .venv of
# the oracles, PyTorch, Slurm, OAR and Chromium (MELISSA_SKIP_SLURM=1, MELISSA_SKIP_CLUSTER=1,
# MELISSA_SKIP_OAR=1, MELISSA_SKIP_BROWSER=1 and MELISSA_SKIP_TORCH=1 leave out a group and the
# tests that need it).
Scripts/install-deps.sh test
source Scripts/mpi-env.sh
# Test clusters this script starts are stopped at exit, whatever happens.
stop_clusters=true
trap 'eval "$stop_clusters"' EXIT
# The slurm backend's tests need a real Slurm: a one-node cluster on this machine, stopped
# again at the end if this script started it (MELISSA_SKIP_SLURM=1 skips those tests).
if [ "${MELISSA_SKIP_SLURM:-0}" != 1 ]; then
  if ! Scripts/slurm-cluster.sh status >/dev/null 2>&1 || ! sinfo >/dev/null 2>&1; then
    Scripts/slurm-cluster.sh start
    stop_clusters="$stop_clusters; Scripts/slurm-cluster.sh stop"
  fi
fi
# The multi-node tests run on a cluster of network namespaces (Scripts/cluster.sh); skipped
# with Slurm or with MELISSA_SKIP_CLUSTER=1.
if [ "${MELISSA_SKIP_SLURM:-0}" != 1 ] && [ "${MELISSA_SKIP_CLUSTER:-0}" != 1 ]; then
  if ! Scripts/cluster.sh status >/dev/null 2>&1; then
    Scripts/cluster.sh start
    stop_clusters="$stop_clusters; Scripts/cluster.sh stop"
  fi
fi
# The same for the oar backend: a one-node OAR (MELISSA_SKIP_OAR=1 skips its tests).
if [ "${MELISSA_SKIP_OAR:-0}" != 1 ]; then
  if ! Scripts/oar-cluster.sh status >/dev/null 2>&1; then
    Scripts/oar-cluster.sh start
    stop_clusters="$stop_clusters; Scripts/oar-cluster.sh stop"
  fi
fi
swift build --build-tests
swift test --skip-build 2>&1 | tee /tmp/melissa-swift-test.log
Scripts/build.sh
MELISSA_PREFIX="$root/build" .venv/bin/python -m pytest -q Tests/e2e
