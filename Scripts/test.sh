#!/usr/bin/env bash
# The README's second command: unit and integration tests (swift test), then the
# end-to-end tests (a real study under mpirun, checked against numpy).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
Scripts/install-deps.sh
source Scripts/mpi-env.sh
swift build --build-tests
swift test --skip-build 2>&1 | tee /tmp/melissa-swift-test.log
Scripts/build.sh
MELISSA_PREFIX="$root/build" .venv/bin/python -m pytest -q Tests/e2e
