#!/usr/bin/env bash
# The README's second command: unit and integration tests (swift test), then the
# end-to-end tests (real studies under mpirun, Slurm and OAR, checked against numpy).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
Scripts/install-deps.sh
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
# The same for the oar backend: a one-node OAR (MELISSA_SKIP_OAR=1 skips its tests).
if [ "${MELISSA_SKIP_OAR:-0}" != 1 ]; then
  if ! Scripts/oar-cluster.sh status >/dev/null 2>&1; then
    Scripts/oar-cluster.sh start
    stop_clusters="$stop_clusters; Scripts/oar-cluster.sh stop"
  fi
fi
# The status page's test renders it in headless Chromium (MELISSA_SKIP_BROWSER=1 skips that part).
if [ "${MELISSA_SKIP_BROWSER:-0}" != 1 ] && ! command -v chromium >/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 || {
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
  }
fi
swift build --build-tests
swift test --skip-build 2>&1 | tee /tmp/melissa-swift-test.log
Scripts/build.sh
MELISSA_PREFIX="$root/build" .venv/bin/python -m pytest -q Tests/e2e
