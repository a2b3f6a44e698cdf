#!/usr/bin/env bash
# Installs what the project needs from Debian (libzmq, Open MPI, NetCDF, pkg-config) and a
# Python virtual environment for the test oracles (numpy, pytest, pyzmq, netCDF4, iterative-stats). Idempotent.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
need=()
for p in libzmq3-dev libopenmpi-dev openmpi-bin pkg-config python3-venv libnetcdf-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  echo "installing Debian packages: ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [ ! -x "$root/.venv/bin/python" ]; then
  python3 -m venv "$root/.venv"
fi
"$root/.venv/bin/python" -c "import numpy, pytest, zmq, netCDF4, iterative_stats" 2>/dev/null || \
  "$root/.venv/bin/pip" install -q numpy pytest pyzmq netCDF4 iterative-stats
