#!/usr/bin/env bash
# The README's first command: install what is needed, build and install into ./build,
# then run the quickstart study (Config/quickstart.json) to completion.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
Scripts/install-deps.sh build python
Scripts/build.sh
source Scripts/mpi-env.sh
rm -rf studies/quickstart
start=$(date +%s)
build/bin/melissa-launcher Config/quickstart.json
echo "quickstart finished in $(( $(date +%s) - start )) s; results in studies/quickstart/results:"
ls studies/quickstart/results
