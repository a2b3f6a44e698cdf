#!/usr/bin/env bash
# A real one-node Slurm cluster on this machine, for the test suite and for trying the
# launcher's slurm backend: Debian's slurmctld + slurmd + munge, no systemd, no cgroups,
# no slurmdbd (finished jobs are read from the job-completion file with `sacct -c`).
#
#   Scripts/slurm-cluster.sh install   # Debian packages (Scripts/install-deps.sh slurm)
#   Scripts/slurm-cluster.sh start     # writes the config, starts munged, slurmctld, slurmd
#   Scripts/slurm-cluster.sh stop      # cancels every job, stops only what `start` started
#   Scripts/slurm-cluster.sh status
#
# State (pid files, logs, spool, job-completion file) lives in $MELISSA_SLURM_STATE
# (default /var/tmp/melissa-slurm). The config goes to /etc/slurm/slurm.conf, the path
# every Slurm command reads; a slurm.conf this script did not write is never overwritten.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state=${MELISSA_SLURM_STATE:-/var/tmp/melissa-slurm}
conf=/etc/slurm/slurm.conf
# This script's cluster is the one of /etc/slurm/slurm.conf, even in a shell where the
# multi-node cluster's SLURM_CONF (Scripts/cluster.sh env) was exported.
export SLURM_CONF=$conf
marker="# written by melissa Scripts/slurm-cluster.sh"
host=$(hostname -s)
sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo

die() { echo "slurm-cluster: $*" >&2; exit 1; }

pid_of() {  # pid_of PIDFILE: the pid it holds, or nothing (a daemon removes its file as it exits)
  local pid; pid=$(head -n1 "$1" 2>/dev/null | tr -dc 0-9) || true
  echo "$pid"
}

running() {  # running PID: the process runs (zombies count as gone)
  [ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1
  # Field 3 of /proc/PID/stat is the state; a zombie (Z) stays visible to kill -0 for a while.
  [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

alive() { running "$(pid_of "$1")"; }  # alive PIDFILE: the process named in PIDFILE runs

# Exits with one line naming what is missing when Slurm's packages are not installed.
require_installed() {
  local missing
  missing=$("$root/Scripts/install-deps.sh" --missing slurm) && return 0
  die "Slurm is not installed (missing Debian packages: $(echo $missing)); run Scripts/install-deps.sh slurm"
}

write_config() {
  if [ -f "$conf" ] && ! grep -qF "$marker" "$conf"; then
    die "$conf exists and was not written by this script; refusing to overwrite a real cluster's config"
  fi
  local cpus; cpus=$(nproc)
  mkdir -p "$state/spool/ctld" "$state/spool/d" "$state/log" /etc/slurm
  # Jobs run one per advertised CPU. The test machines have 2 cores, and a study needs the
  # server job and client jobs at once, so advertise at least 8 (config_overrides lets
  # slurmd accept more CPUs than the hardware has).
  local advertised=$(( cpus < 8 ? 8 : cpus ))
  cat > "$conf" <<EOF
$marker
ClusterName=melissa
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$state/spool/ctld
SlurmdSpoolDir=$state/spool/d
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
# No cgroups here: track processes by parent, bind nothing.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
SlurmdParameters=config_overrides
# batch_sched_delay=0: tiny jobs start at once instead of waiting for the next scheduling pass.
SchedulerParameters=batch_sched_delay=0
# Finished jobs: \`sacct -c\` reads this file (no slurmdbd); MinJobAge keeps them in squeue/scontrol.
JobCompType=jobcomp/filetxt
JobCompLoc=$state/log/jobcomp.txt
MinJobAge=3600
ReturnToService=2
KillWait=5
InactiveLimit=0
NodeName=$host NodeAddr=127.0.0.1 CPUs=$advertised State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
}

start_munge() {
  alive "$state/munged.pid" && return 0
  install -d -m 0700 -o munge -g munge /etc/munge
  [ -s /etc/munge/munge.key ] || mungekey --create --keyfile=/etc/munge/munge.key
  chown munge:munge /etc/munge/munge.key; chmod 0600 /etc/munge/munge.key
  install -d -m 0755 -o munge -g munge /run/munge /var/log/munge /var/lib/munge
  # munged refuses to run as root; --force only accepts a lax socket directory.
  # It writes its pid file as the munge user, so into /run/munge; copied once it exists.
  rm -f /run/munge/melissa-munged.pid
  su -s /bin/sh munge -c "/usr/sbin/munged --pid-file=/run/munge/melissa-munged.pid --force" \
    || die "munged did not start"
  for _ in $(seq 1 50); do [ -s /run/munge/melissa-munged.pid ] && break; sleep 0.1; done
  cp /run/munge/melissa-munged.pid "$state/munged.pid" || die "munged wrote no pid file"
}

start() {
  require_installed
  if alive "$state/slurmctld.pid" && alive "$state/slurmd.pid"; then
    echo "Slurm already running (state in $state)"; return 0
  fi
  write_config
  start_munge
  alive "$state/slurmctld.pid" || /usr/sbin/slurmctld -c -i
  alive "$state/slurmd.pid" || /usr/sbin/slurmd -N "$host"
  # The node is usable once sinfo shows it idle (or mixed/allocated after a restart with jobs).
  for _ in $(seq 1 100); do
    if sinfo -h -N -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then
      echo "Slurm up: node $host, $(sinfo -h -N -o %c) CPUs, partition debug (state in $state)"
      return 0
    fi
    # A node left DOWN by an earlier run comes back with ReturnToService=2 only on registration.
    sinfo -h -N -o %t 2>/dev/null | grep -qE '^(down|drain)' && scontrol update nodename="$host" state=resume 2>/dev/null || true
    sleep 0.1
  done
  tail -5 "$state/log/slurmctld.log" "$state/log/slurmd.log" >&2 || true
  die "the node did not become idle within 10 s"
}

stop() {
  # Stopping the daemons does not kill running jobs: cancel them first and wait for them.
  if alive "$state/slurmctld.pid" && command -v scancel >/dev/null; then
    scancel --full --quiet --user="$(id -un)" 2>/dev/null || true
    scancel --full --quiet --state=PENDING 2>/dev/null || true
    scancel --full --quiet 2>/dev/null || scancel --quiet $(squeue -h -o %i 2>/dev/null) 2>/dev/null || true
    for _ in $(seq 1 100); do
      [ -z "$(squeue -h -t PD,R,CG,S -o %i 2>/dev/null)" ] && break
      sleep 0.1
    done
  fi
  local stopped=()
  for daemon in slurmd slurmctld munged; do
    local file="$state/$daemon.pid" pid
    pid=$(pid_of "$file")
    # Read the pid once: the daemon removes its pid file while it exits.
    if running "$pid"; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do running "$pid" || break; sleep 0.1; done
      running "$pid" && kill -9 "$pid" 2>/dev/null
      stopped+=("$daemon")
    fi
    rm -f "$file"
  done
  if [ ${#stopped[@]} -eq 0 ]; then echo "Slurm was not running"
  else echo "Slurm stopped (${stopped[*]})"; fi
}

status() {  # exits 1 unless every daemon runs; the last line says what is missing
  require_installed
  local down=()
  for daemon in munged slurmctld slurmd; do
    if alive "$state/$daemon.pid"; then echo "$daemon: running (pid $(pid_of "$state/$daemon.pid"))"
    else echo "$daemon: stopped"; down+=("$daemon"); fi
  done
  if [ ${#down[@]} -gt 0 ]; then
    echo "Slurm is not running: ${down[*]} stopped (state in $state); start it with Scripts/slurm-cluster.sh start"
    return 1
  fi
  sinfo
}

case "${1:-}" in
  install) "$root/Scripts/install-deps.sh" slurm ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
