#!/usr/bin/env bash
# Client overhead benchmark: the example heat simulation (Examples/heat2d) with melissa_send on and
# off, same inputs; prints the client's slowdown in percent.
#
#   Benchmarks/client-overhead/run.sh [--short] [--prefix DIR] [--heat2d PATH] [--nx N] [--ny N]
#       [--steps S] [--substeps K] [--repeat R] [--sims N] [--client-ranks C] [--server-ranks M]
#       [--ports CONNECTION DATA] [--launcher-port P] [--work-dir DIR]
#
# Each round r = 1..R runs, with the same heat2d arguments and the same C client ranks:
#   on:  a study of N simulations through the real launcher (<prefix>/bin/melissa-launcher), one
#        simulation at a time (job_limit 1), streaming to a server of M ranks that computes the
#        mean and variance; heat2d's loop and finalize times come from client_logs/simulation.<id>.out;
#   off: for each of those simulations, `mpirun -n C heat2d --no-melissa` with the exact parameters
#        the study gave it (the last two words of its client script), no server running.
# The study's seed is fixed, so every round runs the same parameters. Then it prints the median
# (and the best) over the R x N runs of each side, for the time-step loop (melissa_send included)
# and for loop + melissa_finalize (flushing the queued data), and slowdown = (on - off) / off.
#
# Correctness (the script exits 1 with a `check.py: FAILED` or `run.sh: error` line otherwise):
#   * every study exits 0 and its summary.json shows all simulations finished, no message dropped
#     and accepted == the expected number of messages (check.py computes it from the
#     redistribution: one message per client rank per overlapping server block per step);
#   * a final untimed round runs the study once more with HEAT2D_DUMP_DIR set (dump file I/O never
#     enters the timed runs) and heat2d --no-melissa with dumps too: results/temperature.nc's mean
#     must equal the mean of the dumped values to 1e-9 relative, and the --no-melissa values must
#     be bitwise those streamed (check.py).
#
#   default: 256 x 256 grid, 100 steps (x 294 substeps: heat2d raises the default 250 for
#     stability at this grid), 2 client ranks, server 2 ranks, 5 rounds x 2 simulations. About
#     2.3 s per heat2d run on the 2-core development VM with nothing else running: long enough
#     that the 1 ms timer resolution and start-up noise do not matter, and a realistic ratio of
#     compute to streamed data (~23 ms of compute per output step against 256 KiB per client rank
#     per step, 51 MB per simulation); the whole benchmark takes about 1.5 minutes.
#   --short: 48 x 48 grid, 10 steps, 1 round x 2 simulations (a few seconds): for the test
#     suite, which asserts the correctness checks, never a speed.
#   --prefix DIR: the install prefix (default <repo>/build) with bin/melissa-launcher,
#     bin/melissa-server and bin/heat2d; --heat2d PATH uses another heat2d build (e.g. one that
#     prints its finalize time: `..., 1.234 s, finalize 0.010 s`; without it, the finalize
#     columns say n/a).
#   --ports: the server's connection and data ports (default 30003 31000); --launcher-port P
#     (default 32000); --work-dir DIR keeps the studies and dumps in DIR (must not exist or be
#     empty; default a temporary directory removed at exit).
#
# Environment: PYTHON (default: <repo>/.venv/bin/python if present, else python3; needs numpy and
# netCDF4). Scripts/mpi-env.sh is sourced (Open MPI as root, oversubscription, yield when idle),
# so both sides run with the same MPI settings. Timings are only meaningful on an otherwise idle
# machine: the script warns when the CPU was busy in the second before it starts, and prints the
# CPU steal time (hypervisor) measured over the run.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
here="$root/Benchmarks/client-overhead"

prefix="$root/build" heat2d=""
nx=256 ny=256 steps=100 substeps=250 repeats=5 sims=2 client_ranks=2 server_ranks=2
connection_port=30003 data_port=31000 launcher_port=32000 work_dir=""
while [ $# -gt 0 ]; do
    case "$1" in
        --short) nx=48 ny=48 steps=10 repeats=1 sims=2 ;;
        --prefix) prefix="$2"; shift ;;
        --prefix=*) prefix="${1#*=}" ;;
        --heat2d) heat2d="$2"; shift ;;
        --nx) nx="$2"; shift ;;
        --ny) ny="$2"; shift ;;
        --steps) steps="$2"; shift ;;
        --substeps) substeps="$2"; shift ;;
        --repeat) repeats="$2"; shift ;;
        --sims) sims="$2"; shift ;;
        --client-ranks) client_ranks="$2"; shift ;;
        --server-ranks) server_ranks="$2"; shift ;;
        --ports) connection_port="$2" data_port="$3"; shift 2 ;;
        --launcher-port) launcher_port="$2"; shift ;;
        --work-dir) work_dir="$2"; shift ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "run.sh: unknown argument $1 (see run.sh --help)" >&2; exit 2 ;;
    esac
    shift
done
for value in "$nx" "$ny" "$steps" "$substeps" "$repeats" "$sims" "$client_ranks" "$server_ranks" \
    "$connection_port" "$data_port" "$launcher_port"; do
    case "$value" in ''|*[!0-9]*|0) echo "run.sh: expected a positive integer, got '$value'" >&2; exit 2 ;; esac
done

die() { echo "run.sh: error: $*" >&2; exit 1; }

prefix="$(cd "$prefix" && pwd)" || die "no prefix directory $prefix"
launcher="$prefix/bin/melissa-launcher"
heat2d="${heat2d:-$prefix/bin/heat2d}"
[ -x "$launcher" ] || die "$launcher not found (run Scripts/build.sh)"
[ -x "$prefix/bin/melissa-server" ] || die "$prefix/bin/melissa-server not found (run Scripts/build.sh)"
[ -x "$heat2d" ] || die "$heat2d not found"
heat2d="$(cd "$(dirname "$heat2d")" && pwd)/$(basename "$heat2d")"

python="${PYTHON:-}"
if [ -z "$python" ]; then
    if [ -x "$root/.venv/bin/python" ]; then python="$root/.venv/bin/python"; else python=python3; fi
fi
"$python" -c 'import numpy, netCDF4' 2>/dev/null || die "$python cannot import numpy and netCDF4"

# shellcheck source=../../Scripts/mpi-env.sh
source "$root/Scripts/mpi-env.sh"

if [ -n "$work_dir" ]; then
    mkdir -p "$work_dir"
    work="$(cd "$work_dir" && pwd)"
    [ -z "$(ls -A "$work")" ] || die "--work-dir $work is not empty"
else
    work="$(mktemp -d "${TMPDIR:-/tmp}/melissa-bench-client-overhead.XXXXXX")"
    trap 'rm -rf "$work"' EXIT
fi

heat_args=(--nx "$nx" --ny "$ny" --steps "$steps" --substeps "$substeps")

# Writes the study config of <dir>/study.json (output_dir <dir>/study), the shape of
# Config/quickstart.json; $2 is an optional preprocessing command.
write_config() {
    local dir="$1" preprocessing="" args="" a
    for a in "${heat_args[@]}"; do args="$args${args:+, }\"$a\""; done
    [ -z "${2:-}" ] || preprocessing="\"$2\""
    mkdir -p "$dir"
    cat >"$dir/study.json" <<EOF
// Generated by Benchmarks/client-overhead/run.sh: heat2d streamed to a real server.
{
  "output_dir": "$dir/study",
  "study_options": {
    "field_names": ["temperature"],
    "parameter_sweep_size": $sims,
    "nb_parameters": 2,
    "nb_time_steps": $steps,
    "seed": 2026,                 // fixed: every round runs the same parameters
    "l_bounds": [0.0, 100.0],
    "u_bounds": [100.0, 500.0],
    "simulation_timeout": 120,
    "verbosity": 1
  },
  "sa_config": {"mean": true, "variance": true},
  "launcher_config": {
    "scheduler": "openmpi",
    "scheduler_arg_client": ["-n", "$client_ranks"],
    "scheduler_arg_server": ["-n", "$server_ranks"],
    "job_limit": 1,
    "timer_delay": 0.2,
    "server_timeout": 60,
    "fault_tolerance": false,
    "launcher_port": $launcher_port
  },
  "client_config": {
    "executable_command": "$heat2d",
    "command_default_args": [$args],
    "preprocessing_commands": [$preprocessing]
  },
  "server_config": {"connection_port": $connection_port, "data_port": $data_port}
}
EOF
}

# The loop time and the finalize time ("n/a" if this heat2d does not print it) of a heat2d line.
loop_time() { sed -n 's/^heat2d: simulation .*streamed, \([0-9.]*\) s.*$/\1/p' "$1" | tail -n 1; }
finalize_time() {
    local f
    f="$(sed -n 's/^heat2d: simulation .*streamed, [0-9.]* s, finalize \([0-9.]*\) s.*$/\1/p' "$1" | tail -n 1)"
    echo "${f:-n/a}"
}

# Runs the study in <dir>; fails loudly unless the launcher exits 0.
launch() {
    local dir="$1" status=0
    "$launcher" "$dir/study.json" >"$dir/launcher.out" 2>"$dir/launcher.err" </dev/null || status=$?
    if [ "$status" -ne 0 ]; then
        tail -n 20 "$dir/launcher.out" "$dir/launcher.err" >&2 || true
        die "the study in $dir/study ended with exit code $status (launcher output above)"
    fi
}

# check.py on the study in <dir> (summary.json; extra arguments: --dump DIR --off-dump DIR).
check_study() {
    "$python" "$here/check.py" --study "$1/study" --nx "$nx" --ny "$ny" --steps "$steps" \
        --client-ranks "$client_ranks" --server-ranks "$server_ranks" "${@:2}" >>"$work/checks.txt" ||
        die "the correctness check of $1/study failed (check.py output above)"
}

# The simulation ids of a finished study, and the two parameters its client script passed.
study_ids() { tail -n +2 "$1/parameters.csv" | cut -d, -f1; }
study_params() {
    local script="$1/client_scripts/client.$2.sh"
    [ -f "$script" ] || die "no client script $script"
    grep '^exec ' "$script" | awk '{ print $(NF - 1), $NF }' | tr -d "'"
}

# Runs heat2d --no-melissa with the parameters of simulation <id> of <study>; extra env as VAR=value.
run_off() {
    local study="$1" id="$2" out="$3" params
    shift 3
    read -r -a params <<<"$(study_params "$study" "$id")"
    [ "${#params[@]}" -eq 2 ] || die "cannot read the parameters of simulation $id in $study"
    env MELISSA_SIMU_ID="$id" "$@" mpirun -n "$client_ranks" "$heat2d" --no-melissa "${heat_args[@]}" \
        "${params[@]}" >"$out" 2>"$out.err" </dev/null || { cat "$out" "$out.err" >&2; die "heat2d --no-melissa failed"; }
}

# CPU use of the whole machine from /proc/stat: "busy idle steal" jiffies.
cpu_jiffies() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6, $9 }' /proc/stat; }
cpu_start="$(cpu_jiffies)"
sleep 1
read -r busy0 idle0 _ <<<"$cpu_start"
read -r busy1 idle1 _ <<<"$(cpu_jiffies)"
busy_before=$(( (busy1 - busy0) * 100 / (busy1 - busy0 + idle1 - idle0 + 1) ))
if [ "$busy_before" -gt 10 ]; then
    echo "run.sh: warning: the machine was ${busy_before} % busy in the second before the benchmark (other" \
        "processes); the timings are not reliable" >&2
fi

samples="$work/samples.tsv"
: >"$samples"
: >"$work/checks.txt"
echo "client overhead: heat2d ${nx}x${ny}, $steps steps, $client_ranks client rank(s), server $server_ranks rank(s)," \
    "$repeats round(s) x $sims simulation(s); $heat2d; load average $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq 1 "$repeats"); do
    dir="$work/round$round"
    write_config "$dir"
    launch "$dir"
    check_study "$dir"
    for id in $(study_ids "$dir/study"); do
        log="$dir/study/client_logs/simulation.$id.out"
        on_loop="$(loop_time "$log")"
        [ -n "$on_loop" ] || die "no heat2d timing line in $log"
        run_off "$dir/study" "$id" "$dir/off.$id.out"
        off_loop="$(loop_time "$dir/off.$id.out")"
        [ -n "$off_loop" ] || die "no heat2d timing line in $dir/off.$id.out"
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$id" "$off_loop" "$(finalize_time "$dir/off.$id.out")" \
            "$on_loop" "$(finalize_time "$log")" >>"$samples"
        printf '  round %d sim %s: off %s s (finalize %s), on %s s (finalize %s)\n' "$round" "$id" "$off_loop" \
            "$(finalize_time "$dir/off.$id.out")" "$on_loop" "$(finalize_time "$log")"
    done
done
sed -n 's/^heat2d: simulation [^:]*: \(.* substeps\).*/heat2d ran \1/p' "$(ls "$work"/round1/off.*.out | head -n 1)"

# The untimed correctness round: the same study with dumps, and --no-melissa with dumps.
dir="$work/check"
mkdir -p "$dir/dump" "$dir/off-dump"
write_config "$dir" "export HEAT2D_DUMP_DIR=$dir/dump"
launch "$dir"
for id in $(study_ids "$dir/study"); do
    run_off "$dir/study" "$id" "$dir/off.$id.out" HEAT2D_DUMP_DIR="$dir/off-dump"
done
check_study "$dir" --dump "$dir/dump" --off-dump "$dir/off-dump"
# Identical lines of the R timed studies are printed once, with their count.
uniq -c "$work/checks.txt" | sed 's/^ *\([0-9]*\) \(.*\)/\2 (x\1)/; s/ (x1)$//'

# The table: median and best over every run of each side.
awk -F'\t' -v runs="$(wc -l <"$samples")" '
function median(a, n,    i, j, t) {
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function best(a, n,    i, m) { m = a[1]; for (i = 2; i <= n; i++) if (a[i] < m) m = a[i]; return m }
function row(label, off, on) {
    printf "%-26s %10.3f %10.3f %+10.1f %%\n", label, off, on, (on - off) / off * 100
}
{
    n++; off[n] = $3; on[n] = $5; paired[n] = ($5 - $3) / $3 * 100
    if ($4 == "n/a" || $6 == "n/a") nofin = 1; else { offf[n] = $3 + $4; onf[n] = $5 + $6 }
}
END {
    printf "\n%-26s %10s %10s %12s\n", "heat2d time (" runs " runs)", "off (s)", "on (s)", "slowdown"
    row("loop, median", median(off, n), median(on, n))
    row("loop, best", best(off, n), best(on, n))
    printf "%-26s %10s %10s %+10.1f %%   (median over runs of on/off of the same simulation - 1)\n", "loop, paired", "", "", median(paired, n)
    if (nofin) {
        printf "%-26s %10s %10s %12s\n", "loop + finalize", "n/a", "n/a", "n/a"
        printf "slowdown: loop %+.1f %% (median)\n", (median(on, n) - median(off, n)) / median(off, n) * 100
    } else {
        row("loop + finalize, median", median(offf, n), median(onf, n))
        row("loop + finalize, best", best(offf, n), best(onf, n))
        printf "slowdown: loop %+.1f %%, loop + finalize %+.1f %% (medians)\n",
            (median(on, n) - median(off, n)) / median(off, n) * 100,
            (median(onf, n) - median(offf, n)) / median(offf, n) * 100
    }
}' "$samples"
read -r busy1 idle1 steal1 <<<"$(cpu_jiffies)"
read -r busy0 idle0 steal0 <<<"$cpu_start"
echo "CPU busy before the start: ${busy_before} %; CPU steal during the benchmark:" \
    "$(( (steal1 - steal0) * 100 / (busy1 - busy0 + idle1 - idle0 + 1) )) %; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
