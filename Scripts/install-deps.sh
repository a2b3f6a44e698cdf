#!/usr/bin/env bash
# The one list of what the project installs: Debian packages by group, and the Python
# virtual environment of the test oracles. Both README commands and the cluster scripts
# use it. Idempotent and quiet: it prints one line per group it installs and nothing when
# everything is there; a package that cannot be installed stops it with a message naming it.
#
#   Scripts/install-deps.sh [GROUP...]          install GROUPs (default: build python)
#   Scripts/install-deps.sh --list GROUP...     print the Debian packages of GROUPs
#   Scripts/install-deps.sh --missing GROUP...  print those not installed (exit 1 if any)
#
# Groups:
#   build    compilers (C, C++, Fortran), libzmq, Open MPI, NetCDF, pkg-config: build the
#            project and its examples, run a study
#   python   .venv with numpy, pytest, pyzmq, netCDF4 and iterative-stats (the test oracles)
#   mpi4py   mpi4py in that .venv, compiled from source with this machine's mpicc (about 4
#            minutes), so Python simulations use the Open MPI of the server and libmelissa.so
#            (implies build and python)
#   slurm    Slurm and munge, for the one-node Slurm of Scripts/slurm-cluster.sh
#   cluster  the slurm group plus iproute2 (ip netns, veth, bridge) and util-linux (nsenter,
#            unshare), for the multi-node Slurm in network namespaces of Scripts/cluster.sh
#   oar      OAR 2.5, PostgreSQL and OpenSSH's server, for Scripts/oar-cluster.sh
#   browser  headless Chromium, which renders the status page in its test
#   torch    PyTorch and safetensors in that .venv, for the deep-learning flavor's trainers
#            (PyPI's torch brings its CUDA libraries, about 5 GB, and runs on the CPU here;
#            implies python)
#   test     what Scripts/test.sh uses: build python mpi4py torch slurm cluster oar browser,
#            without the groups that MELISSA_SKIP_SLURM=1 (slurm and cluster),
#            MELISSA_SKIP_CLUSTER=1, MELISSA_SKIP_OAR=1, MELISSA_SKIP_BROWSER=1 or
#            MELISSA_SKIP_TORCH=1 skip
#
# Environment: MELISSA_VENV (default <repo>/.venv) is where the python group installs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${MELISSA_VENV:-$root/.venv}

# Debian packages per group. gcc/g++/make are on most images already; listed because
# mpicc, the examples and the C ABI tests need them. gfortran for mpifort (the Fortran
# interface and example); python3-dev for compiling mpi4py.
declare -A DEBIAN=(
  [build]="gcc g++ gfortran make pkg-config libzmq3-dev libopenmpi-dev openmpi-bin libnetcdf-dev"
  [python]="python3 python3-venv"
  [mpi4py]="python3-dev"
  [slurm]="slurmctld slurmd slurm-client munge"
  [cluster]="slurmctld slurmd slurm-client munge iproute2 util-linux"
  [oar]="oar-server oar-server-pgsql oar-node oar-user oar-user-pgsql postgresql openssh-server"
  [browser]="chromium"
  [torch]=""
)
# Python modules the tests import, as "module:PyPI name".
PYTHON=(numpy:numpy pytest:pytest zmq:pyzmq netCDF4:netCDF4 iterative_stats:iterative-stats)
# What the deep-learning flavor's trainers import besides numpy and pyzmq.
TORCH=(torch:torch safetensors:safetensors)
# mpi4py must wrap the MPI that libmelissa.so links: a binary wheel may bring its own MPI, so
# it is built from source with mpicc (as mpi4py's documentation describes) and checked.
MPI4PY_CHECK='from mpi4py import MPI; import sys; sys.exit(0 if "Open MPI" in MPI.Get_library_version() else 1)'


die() { echo "install-deps: error: $*" >&2; exit 1; }

# expand GROUP...: sets `groups` to the groups named, once each, with `test` replaced by
# what the suite uses.
expand() {
  local g wanted=()
  for g in "$@"; do
    case $g in
      test)
        wanted+=(build python mpi4py)
        [ "${MELISSA_SKIP_SLURM:-0}" = 1 ] || wanted+=(slurm)
        [ "${MELISSA_SKIP_SLURM:-0}" = 1 ] || [ "${MELISSA_SKIP_CLUSTER:-0}" = 1 ] || wanted+=(cluster)
        [ "${MELISSA_SKIP_OAR:-0}" = 1 ] || wanted+=(oar)
        [ "${MELISSA_SKIP_BROWSER:-0}" = 1 ] || wanted+=(browser)
        [ "${MELISSA_SKIP_TORCH:-0}" = 1 ] || wanted+=(torch) ;;
      all) wanted+=(build python mpi4py torch slurm cluster oar browser) ;;
      mpi4py) wanted+=(build python mpi4py) ;;
      torch) wanted+=(python torch) ;;
      build|python|slurm|cluster|oar|browser) wanted+=("$g") ;;
      *) die "unknown group '$g' (groups: build python mpi4py torch slurm cluster oar browser test all)" ;;
    esac
  done
  groups=()
  for g in "${wanted[@]}"; do
    [[ " ${groups[*]} " == *" $g "* ]] || groups+=("$g")
  done
}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

# Missing Debian packages of the groups, as "package group" lines.
missing_packages() {
  local g p
  for g in "$@"; do
    for p in ${DEBIAN[$g]}; do installed "$p" || echo "$p $g"; done
  done | awk '!seen[$1]++'
}

apt_install() {  # apt_install LOG PACKAGE...: quiet, waits for another apt run to finish
  local log=$1; shift
  # Package scripts may be barred from starting services (policy-rc.d on containers);
  # the cluster scripts start every daemon by hand, so that is fine.
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -o DPkg::Lock::Timeout=600 \
    -y -q --no-install-recommends "$@" >>"$log" 2>&1
}

install_debian() {
  local lines; lines=$(missing_packages "$@")
  [ -z "$lines" ] && return 0
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "Debian packages are missing ($(echo $(cut -d' ' -f1 <<<"$lines"))) and this is neither root nor has sudo"
    sudo=sudo
  fi
  local pkgs; pkgs=$(cut -d' ' -f1 <<<"$lines")
  local g
  for g in "$@"; do
    local mine; mine=$(awk -v g="$g" '$2 == g {print $1}' <<<"$lines")
    [ -n "$mine" ] && echo "install-deps: $g: installing $(echo $mine)"
  done
  local log; log=$(mktemp /tmp/melissa-install-deps.XXXXXX.log)
  $sudo apt-get update -q >>"$log" 2>&1 || { tail -n 5 "$log" >&2; die "apt-get update failed (log: $log)"; }
  # shellcheck disable=SC2086
  if ! apt_install "$log" $pkgs; then
    # Find the package that cannot be installed, so the message can name it.
    local p
    while read -r p g; do
      installed "$p" && continue
      if ! apt_install "$log" "$p"; then
        tail -n 5 "$log" >&2
        die "cannot install the Debian package '$p' (group $g); full log: $log"
      fi
    done <<<"$lines"
    tail -n 5 "$log" >&2
    die "apt-get install $(echo $pkgs) failed (log: $log)"
  fi
  local still; still=$(missing_packages "$@")
  [ -z "$still" ] || die "apt-get reported success but these packages are not installed: $(echo $(cut -d' ' -f1 <<<"$still")) (log: $log)"
  rm -f "$log"
}

install_python() { install_pypi python "${PYTHON[@]}"; }
install_torch() { install_pypi torch "${TORCH[@]}"; }

# install_pypi GROUP MODULE:PACKAGE...: installs the packages whose module does not import.
install_pypi() {
  local group=$1; shift
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" || die "python3 -m venv $venv failed (is python3-venv installed?)"
  fi
  local need=() entry
  for entry in "$@"; do
    "$venv/bin/python" -c "import ${entry%%:*}" 2>/dev/null || need+=("${entry#*:}")
  done
  [ ${#need[@]} -eq 0 ] && return 0
  echo "install-deps: $group: installing ${need[*]} into $venv"
  local log; log=$(mktemp /tmp/melissa-install-deps.XXXXXX.log)
  if ! "$venv/bin/pip" install -q --disable-pip-version-check "${need[@]}" >>"$log" 2>&1; then
    local p
    for p in "${need[@]}"; do
      "$venv/bin/pip" install -q --disable-pip-version-check "$p" >>"$log" 2>&1 || {
        tail -n 5 "$log" >&2; die "cannot install the PyPI package '$p' into $venv; full log: $log"; }
    done
  fi
  for entry in "$@"; do
    "$venv/bin/python" -c "import ${entry%%:*}" 2>>"$log" \
      || die "the PyPI package '${entry#*:}' installed but 'import ${entry%%:*}' fails (log: $log)"
  done
  rm -f "$log"
}

install_mpi4py() {
  "$venv/bin/python" -c "$MPI4PY_CHECK" 2>/dev/null && return 0
  command -v mpicc >/dev/null || die "mpi4py is built with mpicc, which is missing: install the build group first"
  echo "install-deps: python: compiling mpi4py against $(mpicc --showme:version 2>&1 | head -n 1 | cut -c1-60)"
  local log; log=$(mktemp /tmp/melissa-install-deps.XXXXXX.log)
  MPICC=$(command -v mpicc) "$venv/bin/pip" install -q --disable-pip-version-check --force-reinstall \
    --no-cache-dir --no-binary mpi4py mpi4py >>"$log" 2>&1 || {
    tail -n 5 "$log" >&2; die "cannot compile the PyPI package 'mpi4py' with mpicc; full log: $log"; }
  "$venv/bin/python" -c "$MPI4PY_CHECK" 2>>"$log" \
    || die "mpi4py installed but does not use Open MPI (log: $log)"
  rm -f "$log"
}

mode=install
case ${1:-} in
  --list) mode=list; shift ;;
  --missing) mode=missing; shift ;;
  -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
esac
[ $# -gt 0 ] || set -- build python
expand "$@"

case $mode in
  list)
    for g in "${groups[@]}"; do for p in ${DEBIAN[$g]}; do echo "$p"; done; done | awk '!seen[$0]++' ;;
  missing)
    out=$(missing_packages "${groups[@]}")
    [ -z "$out" ] || { cut -d' ' -f1 <<<"$out"; exit 1; } ;;
  install)
    install_debian "${groups[@]}"
    for g in "${groups[@]}"; do
      case $g in python) install_python ;; mpi4py) install_mpi4py ;; torch) install_torch ;; esac
    done
    exit 0 ;;
esac
