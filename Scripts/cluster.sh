#!/usr/bin/env bash
# A multi-node test Slurm cluster on ONE machine: a login node and N compute nodes, each a
# Linux network namespace (its own address, ports and loopback) plus a UTS namespace (its own
# host name), joined by a bridge. Debian's slurmctld, slurmd and munge, no systemd, no cgroups,
# no slurmdbd (finished jobs: `sacct -c`, read from the job-completion file). Needs root.
#
#   Scripts/cluster.sh install             # Debian packages (Scripts/install-deps.sh cluster)
#   Scripts/cluster.sh start [--nodes N]   # N compute nodes, 2..6 (default 3); idempotent
#   Scripts/cluster.sh stop                # cancels every job, removes everything start made
#   Scripts/cluster.sh status              # one line per daemon and namespace; exit 1 if not up
#   eval "$(Scripts/cluster.sh env)"       # export SLURM_CONF=... (selects this cluster)
#   Scripts/cluster.sh exec NODE -- CMD... # CMD on NODE (login, node1.., or mlsn-...) with
#                                          # SLURM_CONF set; exits with CMD's exit code
#   Scripts/cluster.sh hosts               # "NAME ADDRESS" per node, login first
#
# Layout (host names = namespace names, in /etc/hosts between the lines
# "# begin melissa Scripts/cluster.sh" and "# end melissa Scripts/cluster.sh"):
#   bridge mlsn-br0      10.77.0.1/24 in the root namespace (so the root namespace reaches the
#                        nodes too: sinfo/squeue/scancel with SLURM_CONF work from anywhere)
#   mlsn-login           10.77.0.10   slurmctld (port 6817); submit jobs from here
#   mlsn-node1..N        10.77.0.11.. one slurmd each (port 6818), 4 CPUs advertised, partition mn
# Each namespace has lo and eth0 (a veth whose other end, mlsn-v-login / mlsn-v-nodeI, is a
# port of the bridge); no default route: the nodes reach each other and 10.77.0.1 only.
# Network namespaces are `ip netns` ones (/run/netns/NAME); UTS namespaces are kept by bind
# mounts on /run/melissa-cluster/uts/NAME (`unshare --uts=FILE`, in a folder bind-mounted on
# itself and made private). Every daemon and every `exec` enters both with nsenter, so slurmd,
# slurmstepd and the jobs see the node's host name and network; slurmd takes its NodeName from
# that host name (no -N). Not `ip netns exec`: it remounts /sys, where slurmd then finds no
# cgroup file system and refuses to start.
#
# State in $MELISSA_CLUSTER_STATE (default /var/tmp/melissa-cluster): slurm.conf, the munge key,
# socket, pid and log, pid files, logs (log/slurmctld.log, log/slurmd-mlsn-nodeI.log,
# log/jobcomp.txt: `sacct -c`), spool/ctld, spool/NODE, tmp/NODE (TmpFS, see slurm.conf).
# Job ids go on across restarts (slurmctld -c drops the jobs, not the counter).
#
# Coexistence with the one-node cluster of Scripts/slurm-cluster.sh (root namespace,
# /etc/slurm/slurm.conf, 127.0.0.1:6817/6818, munged on /run/munge/munge.socket.2): both can
# run at once. This cluster has its own config ($state/slurm.conf: Slurm commands without
# SLURM_CONF still talk to the one-node cluster), its own munged with its own key and socket
# (AuthInfo=socket=... in slurm.conf, which srun, sbatch, slurmd and slurmstepd all read), and
# its daemons listen inside the namespaces, so the same ports do not clash. `stop` only signals
# Slurm daemons started with `-f $state/slurm.conf`, the munged on this cluster's socket, and
# processes inside this cluster's namespaces. Scripts/slurm-cluster.sh exports its own
# SLURM_CONF (/etc/slurm/slurm.conf), so it never acts on this cluster, even from a shell where
# this cluster's `env` was eval'ed.
#
# MPI across nodes: Open MPI 4.1 programs started with `srun --mpi=pmix` (MpiDefault=pmix)
# work across nodes with no OMPI_MCA_* setting: ranks on different nodes see different host
# names, so Open MPI uses its TCP BTL between them (over eth0; it leaves out 127.0.0.0/8 by
# itself) and shared memory only within a node (OMPI_MCA_btl=self,vader fails across nodes,
# which shows it). srun needs no OMPI_ALLOW_RUN_AS_ROOT (only mpirun does). What it needed
# was on Slurm's side: TmpFS=$state/tmp/%n, since srun's pmix plugin makes
# TmpFS/spmix_appdir_UID_JOB.STEP on every node of a step and, in one shared /tmp, all but
# the first node fail ("File exists", "task launch failed").
# Processes of different nodes share the file system (/tmp, /dev/shm, the work tree), not
# the network: bind to 0.0.0.0 or the node's own address and reach other nodes by host name.
#
# Checks made by start: the bridge must pass TCP between two namespaces (a real connection
# from mlsn-node1 to a listener on mlsn-node2). A machine whose netfilter drops bridged
# traffic (br_netfilter with a FORWARD policy of DROP, as Docker leaves it) gets one iptables
# rule accepting traffic from this bridge to itself, removed by stop.
set -euo pipefail
[ -z "${MELISSA_CLUSTER_LOCKED:-}" ] && [ -d /run/lock ] && case ${1:-} in start | stop)
  # One start or stop at a time (parallel test workers may both try).
  MELISSA_CLUSTER_LOCKED=1 exec flock -o /run/lock/melissa-cluster.lock "$0" "$@" ;;
esac
root=$(cd "$(dirname "$0")/.." && pwd)
state=${MELISSA_CLUSTER_STATE:-/var/tmp/melissa-cluster}
conf=$state/slurm.conf
munge_dir=$state/munge
socket=$munge_dir/munge.socket
uts=/run/melissa-cluster/uts
bridge=mlsn-br0
subnet=10.77.0
login=mlsn-login
hosts_begin="# begin melissa Scripts/cluster.sh"
hosts_end="# end melissa Scripts/cluster.sh"
ipt_rule=(FORWARD -i "$bridge" -o "$bridge" -m comment --comment "melissa Scripts/cluster.sh" -j ACCEPT)

die() { echo "cluster: $*" >&2; exit 1; }

pid_of() {  # pid_of PIDFILE: the pid it holds, or nothing (a daemon removes its file as it exits)
  local pid; pid=$(head -n1 "$1" 2>/dev/null | tr -dc 0-9) || true
  echo "$pid"
}

running() {  # running PID: the process runs (zombies count as gone)
  [ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1
  # Field 3 of /proc/PID/stat is the state; a zombie (Z) stays visible to kill -0 for a while.
  [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

# ours PID: PID is a daemon of this cluster: a munged on this cluster's socket, or a Slurm
# daemon started with this cluster's config (the one-node cluster's have neither).
ours() {
  running "$1" || return 1
  local cmd; cmd=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) || return 1
  [[ $cmd == "/usr/sbin/munged "*"--socket=$socket "* || $cmd == /usr/sbin/slurm*" -f $conf "* ]]
}

# daemon_pid DAEMON [NODE]: the pid of this cluster's munged, slurmctld or the slurmd of NODE,
# if it runs; a pid file naming a process that is not ours (a stale file) counts as none.
daemon_pid() {
  local pid
  case $1 in
    munged) pid=$(pid_of "$munge_dir/munged.pid") ;;
    slurmctld) pid=$(pid_of "$state/slurmctld.pid") ;;
    slurmd) pid=$(pid_of "$state/slurmd-$2.pid") ;;
  esac
  if ours "$pid"; then echo "$pid"; fi
}

stray_daemons() {  # daemons of this cluster that no pid file names (their namespace was deleted)
  local p comm
  for p in /proc/[0-9]*; do
    read -r comm <"$p/comm" 2>/dev/null || continue
    case $comm in munged | slurmd | slurmctld) ours "${p#/proc/}" && echo "${p#/proc/}" ;; esac
  done
  return 0
}

require_root() { [ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, bridge, /etc/hosts)"; }

# Exits with one line naming what is missing when the cluster's packages are not installed.
require_installed() {
  local missing
  missing=$("$root/Scripts/install-deps.sh" --missing cluster) && return 0
  die "the cluster's packages are not installed (missing Debian packages: $(echo $missing)); run Scripts/install-deps.sh cluster"
}

compute_nodes() { local i; for ((i = 1; i <= $1; i++)); do echo "mlsn-node$i"; done; }
addr_of() { case $1 in "$login") echo "$subnet.10" ;; mlsn-node*) echo "$subnet.$((10 + ${1#mlsn-node}))" ;; esac; }
veth_of() { echo "mlsn-v-${1#mlsn-}"; }  # at most 12 characters (interface names: 15)

# This cluster's namespaces, bridge ports and UTS files that exist now, whatever their count.
existing_netns() { ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^mlsn-(login|node[0-9]+)$' || true; }
existing_veths() { ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -E '^mlsn-v-(login|node[0-9]+)$' || true; }

node_count() {  # the number of compute nodes of the cluster that was started, or fails
  local n; n=$(cat "$state/nodes" 2>/dev/null) || return 1
  [[ $n =~ ^[0-9]+$ ]] && echo "$n"
}

in_node() {  # in_node NAME CMD...: CMD in NAME's network and UTS namespaces
  local name=$1; shift
  nsenter --net="/run/netns/$name" --uts="$uts/$name" -- "$@"
}

uts_ok() { [ "$(nsenter --uts="$uts/$1" hostname 2>/dev/null)" = "$1" ]; }

# ---------------------------------------------------------------- network and host names

setup_network() {
  local n=$1 name v
  ip link show "$bridge" >/dev/null 2>&1 || ip link add "$bridge" type bridge
  ip addr replace "$subnet.1/24" dev "$bridge"
  ip link set "$bridge" up
  for name in "$login" $(compute_nodes "$n"); do
    if ! nsenter --net="/run/netns/$name" true 2>/dev/null; then
      # Missing, or a plain file left by a reboot where /run is not a tmpfs.
      ip netns del "$name" 2>/dev/null || rm -f "/run/netns/$name"
      ip netns add "$name"
    fi
    v=$(veth_of "$name")
    if ! ip link show "$v" >/dev/null 2>&1; then
      ip -n "$name" link del eth0 2>/dev/null || true  # a half-made pair of an interrupted start
      ip link add "$v" type veth peer name eth0 netns "$name"
    fi
    ip link set "$v" master "$bridge" up
    ip -n "$name" addr replace "$(addr_of "$name")/24" dev eth0
    ip -n "$name" link set eth0 up
    ip -n "$name" link set lo up
  done
}

setup_uts() {
  local n=$1 name f
  mkdir -p "$uts"
  # The folder is a private bind mount on itself (as `ip netns` does for /run/netns), so the
  # namespace files do not propagate into other mount namespaces and keep them alive.
  if ! awk -v d="$uts" '$5 == d {found=1} END {exit !found}' /proc/self/mountinfo; then
    mount --bind "$uts" "$uts"
    mount --make-private "$uts"
  fi
  for name in "$login" $(compute_nodes "$n"); do
    f=$uts/$name
    if ! nsenter --uts="$f" true 2>/dev/null; then
      touch "$f"
      unshare --uts="$f" true || die "cannot make a persistent UTS namespace at $f"
    fi
    nsenter --uts="$f" hostname "$name"
  done
}

hosts_remove() {  # removes this script's block from /etc/hosts, touching no other line
  grep -qxF "$hosts_begin" /etc/hosts 2>/dev/null || return 1
  local tmp; tmp=$(mktemp)
  awk -v b="$hosts_begin" -v e="$hosts_end" '$0 == b {skip=1; next} skip && $0 == e {skip=0; next} !skip' \
    /etc/hosts >"$tmp"
  cat "$tmp" >/etc/hosts  # in place: /etc/hosts may be a bind mount
  rm -f "$tmp"
}

hosts_add() {
  local n=$1 name
  hosts_remove || true
  [ -z "$(tail -c1 /etc/hosts)" ] || echo >>/etc/hosts
  {
    echo "$hosts_begin"
    for name in "$login" $(compute_nodes "$n"); do echo "$(addr_of "$name") $name"; done
    echo "$hosts_end"
  } >>/etc/hosts
}

# tcp_check FROM TO: a real TCP connection from namespace FROM to a listener in namespace TO.
tcp_check() {
  local from=$1 to=$2 out port lpid ok=1
  out=$(mktemp)
  nsenter --net="/run/netns/$to" python3 -c '
import socket, sys
s = socket.socket(); s.bind((sys.argv[1], 0)); s.listen(1)
print(s.getsockname()[1], flush=True); s.settimeout(4)
try:
    c, _ = s.accept(); c.settimeout(2); ok = c.recv(16).startswith(b"ping")
except OSError:
    ok = False
sys.exit(0 if ok else 1)' "$(addr_of "$to")" >"$out" 2>/dev/null &
  lpid=$!
  for _ in $(seq 1 40); do port=$(head -n1 "$out" | tr -dc 0-9); [ -n "$port" ] && break; sleep 0.05; done
  if [ -n "$port" ] && nsenter --net="/run/netns/$from" timeout 2 \
      bash -c "echo ping >/dev/tcp/$(addr_of "$to")/$port" 2>/dev/null; then
    wait "$lpid" && ok=0  # the listener got the bytes
  else
    kill "$lpid" 2>/dev/null || true; wait "$lpid" 2>/dev/null || true
  fi
  rm -f "$out"
  return $ok
}

check_bridge() {
  command -v python3 >/dev/null || return 0  # then only the nodes' registration checks it
  tcp_check mlsn-node1 mlsn-node2 && return 0
  # br_netfilter hands bridged frames to iptables' FORWARD chain; accept this bridge's own.
  if command -v iptables >/dev/null && { iptables -C "${ipt_rule[@]}" 2>/dev/null || iptables -I "${ipt_rule[@]}"; }; then
    touch "$state/iptables-rule"
    tcp_check mlsn-node1 mlsn-node2 && return 0
  fi
  die "TCP from mlsn-node1 to mlsn-node2 over $bridge fails (netfilter? see /proc/sys/net/bridge/bridge-nf-call-iptables and the FORWARD chain)"
}

# ---------------------------------------------------------------- Slurm and munge

write_config() {
  local n=$1 name
  mkdir -p "$state/spool/ctld" "$state/log" "$state/tmp"
  for name in $(compute_nodes "$n"); do
    install -d -m 0755 "$state/spool/$name"
    install -d -m 1777 "$state/tmp/$name"
  done
  cat >"$conf" <<EOF
# written by melissa Scripts/cluster.sh: a test cluster in network namespaces on one machine
ClusterName=melissamn
SlurmctldHost=$login($(addr_of "$login"))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# This cluster's own munged (not the one of /run/munge): clients, daemons and slurmstepd read it.
AuthInfo=socket=$socket
StateSaveLocation=$state/spool/ctld
# %n is the node name: every slurmd has its own spool, pid file and log on the shared disk.
SlurmdSpoolDir=$state/spool/%n
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd-%n.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd-%n.log
# TmpFS is where srun --mpi=pmix makes spmix_appdir_UID_JOB.STEP: in the shared /tmp the
# nodes of one step would collide ("File exists"), so one folder per node (%n works here too).
TmpFS=$state/tmp/%n
SlurmctldPort=6817
SlurmdPort=6818
# No cgroups here: track processes by parent, bind nothing.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
# config_overrides: slurmd accepts the 4 CPUs below on a smaller machine.
SlurmdParameters=config_overrides
SchedulerParameters=batch_sched_delay=0
JobCompType=jobcomp/filetxt
JobCompLoc=$state/log/jobcomp.txt
MinJobAge=3600
ReturnToService=2
KillWait=5
InactiveLimit=0
EOF
  for name in $(compute_nodes "$n"); do
    echo "NodeName=$name NodeAddr=$(addr_of "$name") CPUs=4 State=UNKNOWN" >>"$conf"
  done
  echo "PartitionName=mn Nodes=mlsn-node[1-$n] Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO" >>"$conf"
}

start_munge() {
  [ -n "$(daemon_pid munged)" ] && return 0
  install -d -m 0755 -o munge -g munge "$munge_dir"
  [ -s "$munge_dir/munge.key" ] || mungekey --create --keyfile="$munge_dir/munge.key" >/dev/null
  chown munge:munge "$munge_dir/munge.key"; chmod 0600 "$munge_dir/munge.key"
  rm -f "$munge_dir/munged.pid"
  # munged refuses to run as root; it writes its pid file as the munge user, hence munge_dir.
  su -s /bin/sh munge -c "/usr/sbin/munged --socket=$socket --key-file=$munge_dir/munge.key \
    --pid-file=$munge_dir/munged.pid --log-file=$munge_dir/munged.log --seed-file=$munge_dir/munged.seed" \
    || die "munged did not start (log: $munge_dir/munged.log)"
  for _ in $(seq 1 50); do [ -n "$(daemon_pid munged)" ] && return 0; sleep 0.1; done
  die "munged wrote no pid file (log: $munge_dir/munged.log)"
}

summary() {
  local n=$1
  echo "login $login ($(addr_of "$login")), nodes mlsn-node1..mlsn-node$n ($subnet.11-$((10 + n))), SLURM_CONF=$conf"
}

all_up() {  # all_up N: every daemon runs and every namespace has its address and host name
  local n=$1 name
  [ -n "$(daemon_pid munged)" ] && [ -n "$(daemon_pid slurmctld)" ] || return 1
  for name in $(compute_nodes "$n"); do [ -n "$(daemon_pid slurmd "$name")" ] || return 1; done
  for name in "$login" $(compute_nodes "$n"); do
    [ -e "/run/netns/$name" ] && uts_ok "$name" || return 1
  done
  grep -qxF "$hosts_begin" /etc/hosts
}

start() {
  local n=$1 explicit=$2 old name
  require_root
  require_installed
  [[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 2 ] && [ "$n" -le 6 ] || die "--nodes takes 2..6 (got '$n')"
  if old=$(node_count) && [ -n "$(daemon_pid slurmctld)$(existing_netns)" ]; then
    if [ "$old" != "$n" ]; then
      [ "$explicit" = 1 ] && die "the cluster runs with $old nodes; stop it first (Scripts/cluster.sh stop)"
      n=$old
    fi
  fi
  if all_up "$n"; then echo "cluster already running: $(summary "$n")"; return 0; fi
  mkdir -p "$state"
  echo "$n" >"$state/nodes"
  setup_network "$n"
  setup_uts "$n"
  hosts_add "$n"
  check_bridge
  write_config "$n"
  start_munge
  export SLURM_CONF=$conf
  if [ -z "$(daemon_pid slurmctld)" ]; then
    # pmix folders a killed step left behind (job ids go on across restarts; -c drops jobs).
    find "$state/tmp" -mindepth 2 -delete 2>/dev/null || true
    in_node "$login" /usr/sbin/slurmctld -f "$conf" -c -i || die "slurmctld did not start (log: $state/log/slurmctld.log)"
  fi
  for name in $(compute_nodes "$n"); do
    [ -n "$(daemon_pid slurmd "$name")" ] && continue
    # No -N: slurmd finds its NodeName from the host name of its UTS namespace.
    in_node "$name" /usr/sbin/slurmd -f "$conf" || die "slurmd of $name did not start (log: $state/log/slurmd-$name.log)"
  done
  # Usable once sinfo shows every node idle (or mixed/allocated after a restart with jobs).
  local states up
  for _ in $(seq 1 200); do
    states=$(sinfo -h -N -o '%N %t' 2>/dev/null || true)
    up=$(awk '$2 ~ /^(idle|mix|alloc)/' <<<"$states" | wc -l)
    if [ "$up" -eq "$n" ]; then echo "cluster up: $(summary "$n")"; return 0; fi
    # A node left DOWN by an earlier run comes back with ReturnToService=2 only on registration.
    for name in $(awk '$2 ~ /^(down|drain)/ {print $1}' <<<"$states"); do
      scontrol update nodename="$name" state=resume 2>/dev/null || true
    done
    sleep 0.1
  done
  echo "$states" >&2
  tail -n 3 "$state/log/slurmctld.log" "$state"/log/slurmd-*.log >&2 2>/dev/null || true
  die "not every node became idle within 20 s (logs in $state/log)"
}

stop_pid() {  # stop_pid PID: TERM, then KILL after 5 s
  kill "$1" 2>/dev/null || return 0
  for _ in $(seq 1 50); do running "$1" || return 0; sleep 0.1; done
  kill -9 "$1" 2>/dev/null || true
}

stop() {
  require_root
  local did=() pid name f ids left
  export SLURM_CONF=$conf
  # Stopping the daemons does not kill running jobs: cancel them first and wait for them.
  if [ -n "$(daemon_pid slurmctld)" ] && command -v scancel >/dev/null; then
    ids=$(squeue -h -t PD,CF,R,S,CG -o %i 2>/dev/null || true)
    if [ -n "$ids" ]; then
      scancel --quiet $ids 2>/dev/null || true
      for _ in $(seq 1 150); do
        [ -z "$(squeue -h -t PD,CF,R,S,CG -o %i 2>/dev/null)" ] && break
        sleep 0.1
      done
      did+=("$(wc -w <<<"$ids") jobs cancelled")
    fi
  fi
  for f in "$state"/slurmd-*.pid; do
    [ -e "$f" ] || continue
    name=$(basename "$f" .pid); name=${name#slurmd-}
    pid=$(daemon_pid slurmd "$name")
    [ -n "$pid" ] && { stop_pid "$pid"; did+=("slurmd $name"); }
    rm -f "$f"
  done
  pid=$(daemon_pid slurmctld)
  [ -n "$pid" ] && { stop_pid "$pid"; did+=(slurmctld); }
  rm -f "$state/slurmctld.pid"
  # Whatever still runs in the namespaces (job processes, programs started with exec).
  local nss; nss=$(existing_netns)
  left=$(for name in $nss; do ip netns pids "$name" 2>/dev/null; done | sort -u)
  if [ -n "$left" ]; then
    kill $left 2>/dev/null || true
    for _ in $(seq 1 50); do
      local any=0; for pid in $left; do running "$pid" && any=1; done
      [ $any = 0 ] && break; sleep 0.1
    done
    for pid in $left; do running "$pid" && kill -9 "$pid" 2>/dev/null; done
    did+=("$(wc -w <<<"$left") processes in the namespaces")
  fi
  for pid in $(stray_daemons); do
    [ "$pid" = "$(daemon_pid munged)" ] && continue
    name=$(cat "/proc/$pid/comm" 2>/dev/null) || name=daemon
    stop_pid "$pid"; did+=("stray $name $pid")
  done
  pid=$(daemon_pid munged)
  [ -n "$pid" ] && { stop_pid "$pid"; did+=(munged); }
  rm -f "$munge_dir/munged.pid"
  local v nv=0 nn=0
  for v in $(existing_veths); do ip link del "$v" 2>/dev/null && nv=$((nv + 1)); done
  for name in $nss; do ip netns del "$name" && nn=$((nn + 1)); done
  [ $nn -gt 0 ] && did+=("$nn namespaces")
  [ $nv -gt 0 ] && did+=("$nv veths")
  if ip link show "$bridge" >/dev/null 2>&1; then ip link del "$bridge"; did+=("bridge $bridge"); fi
  if [ -d "$uts" ]; then
    local nu=0
    for f in "$uts"/*; do
      [ -e "$f" ] || continue
      umount "$f" 2>/dev/null && nu=$((nu + 1)); rm -f "$f"
    done
    [ $nu -gt 0 ] && did+=("$nu UTS namespaces")
    umount "$uts" 2>/dev/null || true
    rmdir "$uts" "$(dirname "$uts")" 2>/dev/null || true
  fi
  hosts_remove && did+=("/etc/hosts block")
  if [ -e "$state/iptables-rule" ]; then
    iptables -D "${ipt_rule[@]}" 2>/dev/null && did+=("iptables rule")
    rm -f "$state/iptables-rule"
  fi
  rm -f "$state/nodes"
  if [ ${#did[@]} -eq 0 ]; then echo "cluster was not running"
  else local IFS=','; echo "cluster stopped (${did[*]})" | sed 's/,/, /g'; fi
}

status() {  # exits 1 unless everything runs; the last line then says what is missing
  require_installed
  local n missing=() name pid a
  n=$(node_count) || n=3
  if pid=$(daemon_pid munged) && [ -n "$pid" ]; then echo "munged: running (pid $pid, socket $socket)"
  else echo "munged: stopped"; missing+=(munged); fi
  if pid=$(daemon_pid slurmctld) && [ -n "$pid" ]; then echo "slurmctld on $login: running (pid $pid)"
  else echo "slurmctld on $login: stopped"; missing+=(slurmctld); fi
  for name in $(compute_nodes "$n"); do
    if pid=$(daemon_pid slurmd "$name") && [ -n "$pid" ]; then echo "slurmd on $name: running (pid $pid)"
    else echo "slurmd on $name: stopped"; missing+=("slurmd($name)"); fi
  done
  if ip link show "$bridge" >/dev/null 2>&1; then echo "bridge $bridge: $subnet.1/24"
  else echo "bridge $bridge: missing"; missing+=("bridge"); fi
  for name in "$login" $(compute_nodes "$n"); do
    a=$(addr_of "$name")
    if [ -e "/run/netns/$name" ] && ip -n "$name" -4 -o addr show dev eth0 2>/dev/null | grep -qF " $a/" && uts_ok "$name"; then
      echo "namespace $name: $a, host name $name"
    else echo "namespace $name: missing"; missing+=("namespace($name)"); fi
  done
  if [ ${#missing[@]} -eq $((2 * n + 4)) ]; then
    echo "cluster is not running (state in $state); start it with Scripts/cluster.sh start"
    return 1
  elif [ ${#missing[@]} -gt 0 ]; then
    echo "cluster is not running: missing ${missing[*]} (state in $state); start it with Scripts/cluster.sh start"
    return 1
  fi
  SLURM_CONF=$conf sinfo
}

node_name() {  # node_name login|node1|mlsn-node1: the full name
  case $1 in
    login | "$login") echo "$login" ;;
    node[0-9]*) echo "mlsn-$1" ;;
    mlsn-node[0-9]*) echo "$1" ;;
    *) return 1 ;;
  esac
}

exec_in() {
  require_root
  [ $# -ge 1 ] || die "usage: $0 exec NODE -- CMD..."
  local name; name=$(node_name "$1") || die "unknown node '$1' (login, node1.., or mlsn-...)"
  shift
  [ "${1:-}" = -- ] && shift
  [ $# -ge 1 ] || die "usage: $0 exec NODE -- CMD..."
  [ -e "/run/netns/$name" ] && uts_ok "$name" \
    || die "node $name is not running (start the cluster with Scripts/cluster.sh start)"
  export SLURM_CONF=$conf
  exec nsenter --net="/run/netns/$name" --uts="$uts/$name" -- "$@"
}

hosts() {
  local n name
  n=$(node_count) || die "cluster is not running"
  for name in "$login" $(compute_nodes "$n"); do echo "$name $(addr_of "$name")"; done
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
  install) "$root/Scripts/install-deps.sh" cluster ;;
  start)
    nodes=3 explicit=0
    while [ $# -gt 0 ]; do
      case $1 in
        --nodes) [ $# -ge 2 ] || die "--nodes needs a number"; nodes=$2; explicit=1; shift 2 ;;
        --nodes=*) nodes=${1#--nodes=}; explicit=1; shift ;;
        *) die "unknown option '$1' (start [--nodes N])" ;;
      esac
    done
    start "$nodes" "$explicit" ;;
  stop) stop ;;
  status) status ;;
  env) echo "export SLURM_CONF=$conf" ;;
  exec) exec_in "$@" ;;
  hosts) hosts ;;
  *) echo "usage: $0 install|start [--nodes N]|stop|status|env|exec NODE -- CMD...|hosts" >&2; exit 2 ;;
esac
