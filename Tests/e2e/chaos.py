"""Seeded, reproducible chaos tests of whole studies: real melissa-launcher, real melissa-server
under mpirun, real MPI clients (chaos/chaos_client.c), real signals.

A `Schedule` is drawn from a seed: a study shape (simulations, steps, cells, 3 client ranks,
2 server ranks) and a list of faults. `run_schedule` runs the study with those faults and returns
an `Outcome` whose `checks` say which properties hold:

  exit_code     the launcher (and, after launcher_kill_resume, the resumed launcher) exits 0
  oracle        every statistic equals a numpy oracle computed from the final parameters.csv with
                the client's formula (moments to 1e-12 relative, min/max/count/thresholds exact)
  count         count == number of simulations at every (step, cell)
  summary       summary.json: finished == S, failed == 0
  faults        faults.json: given_up == 0, redrawn == 0 (crashes_before_redraw 5 is above the
                faults any one group gets, so reruns keep their parameters; max_redraws is 0, so
                a group that fails 5 times is given up at once instead of mixing two draws)
  baseline      the statistics equal a fault-free run of the same study shape (cached per shape)
  processes     no process of the study is alive after the launcher exited
  wall_time     wall <= fault-free wall x 3 + 20 s per fault

Fault kinds (KINDS) and how each is injected:

  client_rank_kill           plan `kill`: one client rank SIGKILLs itself before step k, the other
                             ranks keep sending (unsynchronised) until mpirun tears the job down
  job_kill                   the harness SIGKILLs every rank of one running job and its mpirun
  rank_hang                  plan `stop`: one rank SIGSTOPs itself (and again after any SIGCONT);
                             the server's simulation_timeout cancels the job
  early_exit0                plan `exit0`: one rank stops sending and exits 0 (data missing)
  finalize_crash             plan `finalize_crash`: one rank dies inside melissa_finalize
  late_data                  plan `kill` of rank 0 at step 1 while ranks 1, 2 go on, with the
                             server slowed by MELISSA_FAULT_INGEST_DELAY_US=2000
  server_rank_kill           the harness SIGKILLs one melissa-server rank once some simulations
                             finished; the launcher restarts the server from its checkpoint
  server_kill_in_checkpoint  MELISSA_FAULT_KILL_IN_CHECKPOINT=<rank>:<sequence> for the server:
                             that rank SIGKILLs itself while writing checkpoint <sequence>. Only
                             injected when the server binary has the hook (else recorded as not
                             injected); --no-checkpoint-kill / CHAOS_NO_CHECKPOINT_KILL=1 skip it
  launcher_kill_resume       the harness SIGKILLs the launcher and every process of its study once
                             some simulations finished, then runs `melissa-launcher --resume`
  combo                      two or three of the above in one study

Entry points:
  python Tests/e2e/chaos.py soak [--schedules N] [--seed S] [--kinds k1,k2] [--out table.md]
  python Tests/e2e/chaos.py run --seed S        one schedule, verbose
  python Tests/e2e/chaos.py show --seed S       print a schedule without running it
The short mode is Tests/e2e/test_chaos.py; the long mode Scripts/chaos-soak.sh.
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import hashlib
import json
import math
import os
import pathlib
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from conftest import base_config, load_results, write_config  # noqa: E402

CLIENT_SOURCE = HERE / "chaos" / "chaos_client.c"

KINDS = ("client_rank_kill", "job_kill", "rank_hang", "early_exit0", "finalize_crash", "late_data",
         "server_rank_kill", "server_kill_in_checkpoint", "launcher_kill_resume")
CLIENT_KINDS = ("client_rank_kill", "job_kill", "rank_hang", "early_exit0", "finalize_crash", "late_data")
ALL_KINDS = KINDS + ("combo",)

CLIENT_RANKS = 2 + 1
SERVER_RANKS = 2
CELLS = 30
STEP_MS = 40
STUDY_SEED = 7
BOUNDS = ([0.5, 1.0], [2.0, 5.0])
THRESHOLDS = [0.5, 3.0]
SIMULATION_TIMEOUT = 4
CRASHES_BEFORE_REDRAW = 5  # above the faults any one group gets (at most 1 client fault + 3 server-side)
CHECKPOINT_INTERVAL = 1.0
INGEST_DELAY_US = 2000
MOMENT_RTOL = 1e-12
WALL_FACTOR, WALL_PER_FAULT = 3.0, 20.0


# ---------------------------------------------------------------------------------------------
# schedules

@dataclasses.dataclass(frozen=True)
class Fault:
    kind: str
    sim: int | None = None          # client faults: the simulation
    rank: int | None = None         # client rank, or server rank for server faults
    step: int | None = None         # client faults: the step before which it fires
    after_finished: int | None = None  # server/launcher kills: once this many simulations finished
    delay: float | None = None      # job_kill: seconds after the job's ranks are first seen
    sequence: int | None = None     # server_kill_in_checkpoint: the checkpoint number

    def describe(self):
        if self.kind in ("client_rank_kill", "rank_hang", "early_exit0", "late_data"):
            return f"{self.kind}(sim {self.sim}, rank {self.rank}, step {self.step})"
        if self.kind == "finalize_crash":
            return f"{self.kind}(sim {self.sim}, rank {self.rank})"
        if self.kind == "job_kill":
            return f"{self.kind}(sim {self.sim}, after {self.delay:.2f} s)"
        if self.kind == "server_rank_kill":
            return f"{self.kind}(server rank {self.rank}, after {self.after_finished} finished)"
        if self.kind == "server_kill_in_checkpoint":
            return f"{self.kind}(server rank {self.rank}, checkpoint {self.sequence})"
        if self.kind == "launcher_kill_resume":
            return f"{self.kind}(after {self.after_finished} finished)"
        return self.kind


@dataclasses.dataclass(frozen=True)
class Shape:
    """What a fault-free run is cached by: the same shape gives the same parameters and values."""
    sims: int
    steps: int
    cells: int = CELLS
    client_ranks: int = CLIENT_RANKS
    server_ranks: int = SERVER_RANKS
    study_seed: int = STUDY_SEED

    @property
    def key(self):
        return f"s{self.sims}-t{self.steps}-c{self.cells}-r{self.client_ranks}x{self.server_ranks}-seed{self.study_seed}"


@dataclasses.dataclass(frozen=True)
class Schedule:
    seed: int | None
    shape: Shape
    faults: tuple[Fault, ...] = ()
    stragglers: tuple[tuple[int, int, int], ...] = ()  # (sim, rank, k): k x 10 ms more per step
    combo: bool = False

    @property
    def kinds(self):
        return [f.kind for f in self.faults]

    @property
    def label(self):
        if not self.faults:
            return "fault_free"
        return ("combo:" if self.combo else "") + "+".join(self.kinds)

    @property
    def test_id(self):
        return f"seed{self.seed}-{self.label.replace(':', '-')}" if self.seed is not None else self.label

    def describe(self):
        s = self.shape
        parts = [f"seed {self.seed}: {s.sims} sims x {s.steps} steps x {s.cells} cells, "
                 f"{s.client_ranks} client ranks, {s.server_ranks} server ranks"]
        parts += ["  " + f.describe() for f in self.faults] or ["  no faults"]
        parts += [f"  straggler(sim {sim}, rank {r}, +{k * 10} ms/step)" for sim, r, k in self.stragglers]
        return "\n".join(parts)

    def plan_lines(self):
        out = []
        for f in self.faults:
            if f.kind in ("client_rank_kill", "late_data"):
                out.append(f"{f.sim} {f.rank} kill {f.step}")
            elif f.kind == "rank_hang":
                out.append(f"{f.sim} {f.rank} stop {f.step}")
            elif f.kind == "early_exit0":
                out.append(f"{f.sim} {f.rank} exit0 {f.step}")
            elif f.kind == "finalize_crash":
                out.append(f"{f.sim} {f.rank} finalize_crash 0")
        out += [f"{sim} {r} slow {k}" for sim, r, k in self.stragglers]
        return out

    @staticmethod
    def draw(seed, kinds=None):
        """The schedule of `seed`; `kinds` restricts the fault kinds (and may hold 'combo')."""
        rng = random.Random(seed)
        pool = list(kinds) if kinds else list(ALL_KINDS)
        for k in pool:
            if k not in ALL_KINDS:
                raise ValueError(f"unknown fault kind {k!r} (known: {', '.join(ALL_KINDS)})")
        shape = Shape(sims=rng.choice((12, 14, 16)), steps=rng.choice((7, 8)))
        kind = rng.choice(pool)
        if kind == "combo":
            base = [k for k in pool if k != "combo"] or list(KINDS)
            n = min(len(base), rng.choice((2, 3)))
            chosen = rng.sample(base, n) if len(base) >= n else base
            if len(chosen) < 2:  # --kinds combo,one_kind: two of the same kind
                chosen = chosen * 2
        else:
            chosen = [kind]
        sims = list(range(shape.sims))
        rng.shuffle(sims)
        faults = []
        for k in chosen:
            faults.append(_draw_fault(rng, k, shape, sims))
        stragglers = ()
        if rng.random() < 0.5:
            stragglers = ((rng.randrange(shape.sims), rng.randrange(shape.client_ranks), rng.randint(1, 4)),)
        return Schedule(seed=seed, shape=shape, faults=tuple(faults), stragglers=stragglers,
                        combo=kind == "combo")

    @staticmethod
    def fault_free(shape):
        return Schedule(seed=None, shape=shape)


def _draw_fault(rng, kind, shape, free_sims):
    steps = shape.steps
    if kind in CLIENT_KINDS:
        # One client fault per simulation, and never in simulation 0 or 1 (the first jobs, which
        # may start before the server is fully warmed up: kept fault-free so every schedule
        # exercises a rerun later in the study).
        sim = next(s for s in free_sims if s >= 2)
        free_sims.remove(sim)
        rank = rng.randrange(shape.client_ranks)
        if kind == "client_rank_kill":
            if rng.random() < 0.5:
                rank = 0  # the unsynchronised rank-0 case
            return Fault(kind, sim=sim, rank=rank, step=rng.randrange(steps))
        if kind == "rank_hang":
            return Fault(kind, sim=sim, rank=rank, step=rng.randrange(steps))
        if kind == "early_exit0":
            return Fault(kind, sim=sim, rank=rank, step=rng.randrange(steps))
        if kind == "finalize_crash":
            return Fault(kind, sim=sim, rank=rank)
        if kind == "late_data":
            return Fault(kind, sim=sim, rank=0, step=1)
        if kind == "job_kill":
            return Fault(kind, sim=sim, delay=round(rng.uniform(0.05, 0.5), 3))
    if kind == "server_rank_kill":
        return Fault(kind, rank=rng.randrange(shape.server_ranks), after_finished=rng.randint(2, shape.sims // 2))
    if kind == "server_kill_in_checkpoint":
        return Fault(kind, rank=rng.randrange(shape.server_ranks), sequence=rng.randint(2, 5))
    if kind == "launcher_kill_resume":
        return Fault(kind, after_finished=rng.randint(3, shape.sims - 4))
    raise ValueError(kind)


# ---------------------------------------------------------------------------------------------
# the client, the config, the environment

_compiled: dict[str, pathlib.Path] = {}
_compile_lock = threading.Lock()


def compile_client(prefix, workdir):
    """Builds chaos_client with the documented command into `workdir` (once per prefix/source)."""
    prefix = pathlib.Path(prefix)
    digest = hashlib.sha256(CLIENT_SOURCE.read_bytes()
                            + str((prefix / "lib" / "libmelissa.so").stat().st_mtime_ns).encode()).hexdigest()[:12]
    with _compile_lock:
        if digest in _compiled and _compiled[digest].exists():
            return _compiled[digest]
        out_dir = pathlib.Path(workdir) / f"chaos-client-{digest}"
        out_dir.mkdir(parents=True, exist_ok=True)
        exe = out_dir / "chaos_client"
        if not exe.exists():
            flags = subprocess.run([str(prefix / "bin" / "melissa-config"), "--cflags", "--libs"],
                                   check=True, capture_output=True, text=True).stdout.split()
            tmp = out_dir / f"chaos_client.tmp.{os.getpid()}"
            subprocess.run(["mpicc", "-O2", "-Wall", "-Wextra", "-ffp-contract=off", str(CLIENT_SOURCE), *flags,
                            "-lm", "-o", str(tmp)], check=True)
            tmp.rename(exe)
        _compiled[digest] = exe
        return exe


def mpi_environment(base=None):
    """Scripts/mpi-env.sh, for the launcher and everything it starts."""
    env = dict(os.environ if base is None else base)
    if os.geteuid() == 0:
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
    env.setdefault("OMPI_MCA_rmaps_base_oversubscribe", "1")
    env.setdefault("OMPI_MCA_plm", "isolated")
    env.setdefault("OMPI_MCA_mpi_yield_when_idle", "1")
    # Never let a stray variable of the caller inject faults we did not plan.
    for var in ("MELISSA_FAULT_INGEST_DELAY_US", "MELISSA_FAULT_KILL_IN_CHECKPOINT", "CHAOS_PLAN"):
        env.pop(var, None)
    return env


_hook_cache: dict[str, bool] = {}


def has_checkpoint_kill_hook(prefix):
    """Whether this melissa-server knows MELISSA_FAULT_KILL_IN_CHECKPOINT."""
    exe = pathlib.Path(prefix) / "bin" / "melissa-server"
    key = f"{exe}:{exe.stat().st_mtime_ns}"
    if key not in _hook_cache:
        _hook_cache[key] = b"MELISSA_FAULT_KILL_IN_CHECKPOINT" in exe.read_bytes()
    return _hook_cache[key]


def study_config(tmp, prefix, schedule, client, ports, plan=None):
    s = schedule.shape
    cfg = base_config(tmp, sims=s.sims, steps=s.steps, executable=client,
                      args=["--steps", s.steps, "--cells", s.cells, "--step-ms", STEP_MS],
                      server_ranks=s.server_ranks, client_ranks=s.client_ranks, job_limit=2,
                      preprocessing=[f"export CHAOS_PLAN={plan}"] if plan else [], ports=ports,
                      simulation_timeout=SIMULATION_TIMEOUT, seed=s.study_seed, bounds=BOUNDS,
                      fault_tolerance=True)
    cfg["study_options"]["crashes_before_redraw"] = CRASHES_BEFORE_REDRAW
    # No redraws: a redrawn simulation mixes two draws in the statistics (docs/FAULTS.md, "Not
    # covered"), so here a group that fails crashes_before_redraw times is simply given up.
    cfg["study_options"]["max_redraws"] = 0
    cfg["sa_config"] = {"mean": True, "variance": True, "skewness": True, "kurtosis": True, "min": True,
                        "max": True, "threshold_exceedance": True, "threshold_values": THRESHOLDS,
                        "checkpoint_interval": CHECKPOINT_INTERVAL}
    cfg["launcher_config"]["launcher_port"] = ports[0] + 50
    cfg["launcher_config"]["max_server_restarts"] = 3
    return write_config(tmp, cfg, comment=f"chaos harness: {schedule.label} (seed {schedule.seed})")


# ---------------------------------------------------------------------------------------------
# processes

def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def _environ(pid):
    return dict(item.split(b"=", 1) for item in _read(f"/proc/{pid}/environ").split(b"\0") if b"=" in item)


def _cmdline(pid):
    return _read(f"/proc/{pid}/cmdline").replace(b"\0", b" ").decode(errors="replace").strip()


def _state(pid):
    stat = _read(f"/proc/{pid}/stat").decode(errors="replace")
    return stat[stat.rfind(")") + 2:].split(" ", 1)[0] if ")" in stat else "?"


def _ppid(pid):
    stat = _read(f"/proc/{pid}/stat").decode(errors="replace")
    try:
        return int(stat[stat.rfind(")") + 2:].split()[1])
    except (IndexError, ValueError):
        return 0


def study_processes(study, config):
    """(pid, state, cmdline) of every live process of this study: its clients (MELISSA_STUDY_DIR in
    their environment), anything whose command line names the study directory or config (the
    launcher, the server's mpirun and ranks, the clients' mpiruns)."""
    study_b, config_s, study_s = str(study).encode(), str(config), str(study)
    me = os.getpid()
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        pid = int(entry)
        cmd = _cmdline(pid)
        if not cmd:
            continue  # kernel thread or zombie
        if study_s in cmd or config_s in cmd or _environ(pid).get(b"MELISSA_STUDY_DIR") == study_b:
            out.append((pid, _state(pid), cmd))
    return out


def client_processes(study, sim):
    study_b, sim_b = str(study).encode(), str(sim).encode()
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            env = _environ(int(entry))
            if env.get(b"MELISSA_STUDY_DIR") == study_b and env.get(b"MELISSA_SIMU_ID") == sim_b:
                out.append(int(entry))
    return out


def server_rank_processes(config):
    """{server rank: pid} of the melissa-server ranks started with `config`."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        cmd = _cmdline(int(entry))
        if str(config) in cmd and cmd.split(" ")[0].endswith("melissa-server"):
            rank = _environ(int(entry)).get(b"OMPI_COMM_WORLD_RANK")
            if rank is not None:
                out[int(rank)] = int(entry)
    return out


def _kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def finished_count(study):
    log = _read(pathlib.Path(study) / "server.rank0.log").decode(errors="replace")
    found = re.findall(r"finished \((\d+)/\d+\)", log)
    return max(map(int, found)) if found else 0


# ---------------------------------------------------------------------------------------------
# running a schedule

@dataclasses.dataclass
class Outcome:
    schedule: Schedule
    study: pathlib.Path
    exit_code: int | None
    wall: float
    summary: dict | None
    faults: dict | None
    leftovers: list
    injected: list
    not_injected: list
    checks: dict            # property -> (ok, message)
    launcher_log: str
    baseline_wall: float | None = None
    timed_out: bool = False

    @property
    def ok(self):
        return all(ok for ok, _ in self.checks.values())

    @property
    def failed(self):
        return [name for name, (ok, _) in self.checks.items() if not ok]

    @property
    def effect(self):
        """What the study saw of the faults: failed attempts in faults.json, server restarts."""
        if not self.faults:
            return "no faults.json"
        attempts = sum(len(g.get("failures", [])) for g in self.faults.get("groups", []))
        return f"{attempts} failed attempt(s), {self.faults.get('server_restarts', 0)} restart(s)"

    @property
    def why(self):
        """One line on why a failing study failed (its first error, or the launcher's)."""
        errors = (self.summary or {}).get("errors") or []
        if errors:
            return errors[0]
        lines = [l for l in self.launcher_log.splitlines() if "error" in l]
        return lines[-1] if lines else ""

    @property
    def overhead(self):
        return self.wall / self.baseline_wall if self.baseline_wall else None

    def server_log_tail(self, lines=25):
        out = []
        for r in range(self.schedule.shape.server_ranks):
            path = self.study / f"server.rank{r}.log"
            text = _read(path).decode(errors="replace").splitlines()
            out.append(f"--- {path} (last {lines} lines)\n" + "\n".join(text[-lines:]))
        err = _read(self.study / "server.err").decode(errors="replace").splitlines()
        if err:
            out.append(f"--- {self.study / 'server.err'} (last 10 lines)\n" + "\n".join(err[-10:]))
        return "\n".join(out)

    def report(self, launcher_lines=30, server_lines=25):
        """Everything a failure message needs: schedule, checks, launcher tail, server logs."""
        head = [self.schedule.describe(),
                f"study: {self.study}",
                f"exit code {self.exit_code}, wall {self.wall:.1f} s"
                + (f" ({self.overhead:.2f} x fault-free {self.baseline_wall:.1f} s)" if self.overhead else "")
                + (" TIMED OUT" if self.timed_out else ""),
                "injected: " + ("; ".join(self.injected) or "nothing"),
                "not injected: " + ("; ".join(self.not_injected) or "-")]
        head += [f"  [{'ok' if ok else 'FAIL'}] {name}: {msg}" for name, (ok, msg) in self.checks.items()]
        tail = self.launcher_log.splitlines()[-launcher_lines:]
        return ("\n".join(head) + f"\n--- launcher output (last {launcher_lines} lines)\n" + "\n".join(tail)
                + "\n" + self.server_log_tail(server_lines))


class _Injector(threading.Thread):
    """Harness-side faults while the study runs: job_kill, server_rank_kill and the launcher kill."""

    def __init__(self, schedule, study, config, rng):
        super().__init__(daemon=True)
        self.schedule, self.study, self.config = schedule, study, config
        self.rng = rng
        self.pending = [f for f in schedule.faults if f.kind in ("job_kill", "server_rank_kill", "launcher_kill_resume")]
        self.launcher = None
        self.injected, self.stop = [], threading.Event()
        self.launcher_killed = threading.Event()
        self.first_seen: dict[int, float] = {}
        self.lock = threading.Lock()

    def run(self):
        while not self.stop.is_set() and self.pending:
            for fault in list(self.pending):
                try:
                    if self._try(fault):
                        self.pending.remove(fault)
                except Exception as e:  # a harness bug must not hang the study
                    self.injected.append(f"{fault.describe()}: harness error {e!r}")
                    self.pending.remove(fault)
            self.stop.wait(0.02)

    def _try(self, fault):
        if fault.kind == "job_kill":
            pids = client_processes(self.study, fault.sim)
            if len(pids) < self.schedule.shape.client_ranks:
                return False
            seen = self.first_seen.setdefault(fault.sim, time.monotonic())
            if time.monotonic() - seen < fault.delay:
                return False
            parents = {_ppid(p) for p in pids}
            mpiruns = [p for p in parents if p > 1 and ("mpirun" in _cmdline(p) or "orterun" in _cmdline(p))
                       and "client_scripts" in _cmdline(p)]
            killed = [p for p in pids + mpiruns if _kill(p)]
            self.injected.append(f"job_kill: SIGKILLed simulation {fault.sim}'s ranks {sorted(pids)} and its "
                                 f"mpirun {mpiruns} after {time.monotonic() - seen:.2f} s ({len(killed)} signals)")
            return True
        if finished_count(self.study) < fault.after_finished:
            return False
        if fault.kind == "server_rank_kill":
            ranks = server_rank_processes(self.config)
            pid = ranks.get(fault.rank)
            if pid is None:
                return False  # the server is (re)starting
            _kill(pid)
            self.injected.append(f"server_rank_kill: SIGKILLed server rank {fault.rank} (pid {pid}) at "
                                 f"{finished_count(self.study)} finished")
            return True
        if fault.kind == "launcher_kill_resume":
            with self.lock:
                launcher = self.launcher
                if launcher is None or launcher.poll() is not None:
                    return False
                launcher.kill()
                launcher.wait()
                at = finished_count(self.study)
                victims = kill_study(self.study, self.config)
                self.injected.append(f"launcher_kill_resume: SIGKILLed the launcher at {at} finished, then "
                                     f"{len(victims)} process(es) of the study")
                self.launcher_killed.set()
            return True
        return False


def kill_study(study, config, settle=0.5, timeout=15):
    """SIGKILLs every process of the study until none has been seen for `settle` seconds."""
    victims, quiet_since, deadline = set(), None, time.monotonic() + timeout
    while time.monotonic() < deadline:
        procs = study_processes(study, config)
        if procs:
            quiet_since = None
            for pid, _, cmd in procs:
                if _kill(pid):
                    victims.add((pid, cmd))
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= settle:
            break
        time.sleep(0.02)
    return sorted(victims)


def _default_signals():
    """SIGHUP and SIGQUIT back to their default action when the harness inherited them ignored
    (nohup, `cmd &` in a script): ignored dispositions pass to every process of the study and
    change how its jobs die (a cancelled rank that ignores SIGHUP may finish its steps first)."""
    for sig in (signal.SIGHUP, signal.SIGQUIT):
        try:
            if signal.getsignal(sig) == signal.SIG_IGN:
                signal.signal(sig, signal.SIG_DFL)
        except ValueError:  # not the main thread: leave it
            pass


def _start_launcher(prefix, args, env, log):
    return subprocess.Popen([str(pathlib.Path(prefix) / "bin" / "melissa-launcher"), *args], stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)


def run_schedule(prefix, workdir, schedule, *, ports=(25903, 29903), baseline=None, timeout=300,
                 checkpoint_kill=None):
    """Runs one study with `schedule`'s faults in `workdir` (created, must not hold a study).
    `baseline` is the fault-free Outcome of the same shape (compared when given);
    `checkpoint_kill` False leaves server_kill_in_checkpoint out, None (default) injects it when
    the server has the hook and CHAOS_NO_CHECKPOINT_KILL is not set."""
    prefix, workdir = pathlib.Path(prefix), pathlib.Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    study = workdir / "study"
    if study.exists():
        raise RuntimeError(f"{study} exists; give run_schedule a fresh directory")
    client = compile_client(prefix, workdir.parent)
    plan_lines = schedule.plan_lines()
    plan = None
    if plan_lines:
        plan = workdir / "chaos-plan.txt"
        plan.write_text(f"# {schedule.label} (seed {schedule.seed})\n" + "\n".join(plan_lines) + "\n")
    config = study_config(workdir, prefix, schedule, client, ports, plan)
    env = mpi_environment()
    not_injected = []
    if any(f.kind == "late_data" for f in schedule.faults):
        env["MELISSA_FAULT_INGEST_DELAY_US"] = str(INGEST_DELAY_US)
    for f in schedule.faults:
        if f.kind != "server_kill_in_checkpoint":
            continue
        use = checkpoint_kill
        if use is None:
            use = os.environ.get("CHAOS_NO_CHECKPOINT_KILL", "0") != "1" and has_checkpoint_kill_hook(prefix)
        if use:
            env["MELISSA_FAULT_KILL_IN_CHECKPOINT"] = f"{f.rank}:{f.sequence}"
        else:
            why = "disabled" if checkpoint_kill is False or os.environ.get("CHAOS_NO_CHECKPOINT_KILL") == "1" \
                else "melissa-server has no MELISSA_FAULT_KILL_IN_CHECKPOINT hook"
            not_injected.append(f"{f.describe()}: {why}")

    log_path = workdir / "launcher.log"
    _default_signals()
    injector = _Injector(schedule, study, config, random.Random(schedule.seed))
    start = time.monotonic()
    deadline = start + timeout
    timed_out = False
    exit_code = None
    with open(log_path, "w") as log:
        launcher = _start_launcher(prefix, [str(config)], env, log)
        injector.launcher = launcher
        injector.start()
        resumed = False
        while True:
            try:
                exit_code = launcher.wait(timeout=max(0.1, min(0.5, deadline - time.monotonic())))
            except subprocess.TimeoutExpired:
                if time.monotonic() >= deadline:
                    timed_out = True
                    launcher.terminate()
                    try:
                        exit_code = launcher.wait(timeout=20)
                    except subprocess.TimeoutExpired:
                        launcher.kill()
                        exit_code = launcher.wait()
                    break
                continue
            # The launcher exited: killed by the injector (then resume), or the end.
            with injector.lock:
                killed = injector.launcher_killed.is_set()
            if killed and not resumed:
                resumed = True
                log.write(f"\n===== chaos harness: launcher SIGKILLed; running melissa-launcher --resume {study} =====\n")
                log.flush()
                launcher = _start_launcher(prefix, ["--resume", str(study)], env, log)
                with injector.lock:
                    injector.launcher = launcher
                continue
            break
        wall = time.monotonic() - start
        injector.stop.set()
        injector.join(timeout=5)
    # Anything of the study still alive once the launcher is gone is a leak: report, then kill.
    time.sleep(1.0)
    leftovers = study_processes(study, config)
    if leftovers:
        kill_study(study, config)

    injected = list(injector.injected)
    for f in schedule.faults:
        if f.kind in ("client_rank_kill", "rank_hang", "early_exit0", "late_data", "finalize_crash"):
            action = {"client_rank_kill": "kill", "late_data": "kill", "rank_hang": "stop",
                      "early_exit0": "exit0", "finalize_crash": "finalize_crash"}[f.kind]
            marker = study / f"chaos-fired.{f.sim}.{f.rank}.{action}"
            (injected if marker.exists() else not_injected).append(
                f.describe() + ("" if marker.exists() else ": the simulation never reached it"))
        elif f.kind == "server_kill_in_checkpoint" and not any(f.describe() in n for n in not_injected):
            log0 = "".join(_read(study / f"server.rank{r}.log").decode(errors="replace")
                           for r in range(schedule.shape.server_ranks))
            injected.append(f"{f.describe()}: MELISSA_FAULT_KILL_IN_CHECKPOINT={f.rank}:{f.sequence} set"
                            + (" (the server log mentions it)" if "MELISSA_FAULT_KILL_IN_CHECKPOINT" in log0 else ""))
    for f in injector.pending:
        not_injected.append(f"{f.describe()}: its moment never came (the study was over)")

    summary = _json(study / "summary.json")
    faults = _json(study / "faults.json")
    outcome = Outcome(schedule=schedule, study=study, exit_code=exit_code, wall=wall, summary=summary,
                      faults=faults, leftovers=leftovers, injected=injected, not_injected=not_injected,
                      checks={}, launcher_log=_read(log_path).decode(errors="replace"),
                      baseline_wall=baseline.wall if baseline else None, timed_out=timed_out)
    outcome.checks = check(outcome, baseline)
    return outcome


def _json(path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


# ---------------------------------------------------------------------------------------------
# properties

def client_values(params, steps, cells):
    """(sims, steps, cells) float64: chaos_client.c's formula, same libm, same operation order:
    p0 * sin(0.1 * (g + 1) * (t + 1)) + p1 * cos(0.05 * g) + t."""
    sin_tab = np.array([[math.sin(0.1 * float(g + 1) * float(t + 1)) for g in range(cells)] for t in range(steps)])
    cos_tab = np.array([math.cos(0.05 * float(g)) for g in range(cells)])
    p0 = params[:, 0][:, None, None]
    p1 = params[:, 1][:, None, None]
    t = np.arange(steps, dtype=np.float64)[None, :, None]
    return p0 * sin_tab[None, :, :] + p1 * cos_tab[None, None, :] + t


def read_parameters(study):
    with open(study / "parameters.csv") as f:
        rows = list(csv.DictReader(f))
    rows.sort(key=lambda r: int(r["simulation_id"]))
    return np.array([[float(r["p0"]), float(r["p1"])] for r in rows], dtype=np.float64)


def oracle(params, steps, cells):
    x = client_values(params, steps, cells)
    n = x.shape[0]
    mean = x.mean(axis=0)
    d = x - mean
    m2, m3, m4 = (d ** 2).sum(axis=0), (d ** 3).sum(axis=0), (d ** 4).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "mean": mean,
            "variance": m2 / (n - 1),
            "skewness": math.sqrt(n) * m3 / m2 ** 1.5,
            "kurtosis": n * m4 / m2 ** 2,
            "min": x.min(axis=0),
            "max": x.max(axis=0),
            "count": np.full(mean.shape, n, dtype=np.int64),
            "threshold_exceedance": np.stack([(x > thr).sum(axis=0) for thr in THRESHOLDS]).astype(np.int64),
            "_scale": np.abs(x).max(axis=0),
        }


MOMENTS = ("mean", "variance", "skewness", "kurtosis")
EXACT = ("min", "max", "count", "threshold_exceedance")


def _moment_floor(name, want, scale):
    """Absolute floor of the moment comparison: 1e-12 of the natural scale of the statistic
    (values' magnitude for the mean, its square for the variance, 1 for the dimensionless
    skewness and kurtosis), so that a statistic near 0 is not held to 1e-12 of itself."""
    if name == "mean":
        return MOMENT_RTOL * scale
    if name == "variance":
        return MOMENT_RTOL * scale ** 2
    return np.full(want.shape, MOMENT_RTOL)


def compare_stats(got, want, scale, what):
    """'' when equal (moments within 1e-12 relative, the rest exact), else what differs."""
    problems = []
    for name in MOMENTS + EXACT:
        if name not in got:
            problems.append(f"{name} missing from the results file")
            continue
        g, w = np.asarray(got[name]), np.asarray(want[name])
        if g.shape != w.shape:
            problems.append(f"{name}: shape {g.shape} != {what} {w.shape}")
            continue
        if name in MOMENTS:
            both_nan = np.isnan(g) & np.isnan(w)
            tol = MOMENT_RTOL * np.abs(w) + _moment_floor(name, w, scale)
            bad = ~both_nan & ~(np.abs(g - w) <= tol)
        else:
            bad = ~((g == w) | (np.isnan(g) & np.isnan(w))) if g.dtype.kind == "f" else g != w
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            err = np.abs(g.astype(float) - w.astype(float))[bad]
            problems.append(f"{name}: {int(bad.sum())} of {bad.size} values differ from {what} (first at {idx}: "
                            f"{g[idx].item()!r} vs {w[idx].item()!r}; max |diff| {np.nanmax(err) if err.size else 0:.3g})")
    return "; ".join(problems)


def check(outcome, baseline=None):
    s = outcome.schedule.shape
    study = outcome.study
    checks = {}
    checks["exit_code"] = (outcome.exit_code == 0 and not outcome.timed_out,
                           f"launcher exit code {outcome.exit_code}" + (" (timed out, terminated by the harness)" if outcome.timed_out else ""))
    got = None
    try:
        got = load_results(study)
    except Exception as e:  # no file, unreadable file
        checks["oracle"] = (False, f"cannot read results/temperature.nc: {e}")
    if got is not None:
        try:
            params = read_parameters(study)
            want = oracle(params, s.steps, s.cells)
            problem = compare_stats(got, want, want["_scale"], "the oracle")
            checks["oracle"] = (not problem, problem or f"all statistics equal the oracle of {len(params)} simulations")
        except Exception as e:
            checks["oracle"] = (False, f"oracle failed: {e!r}")
        count = np.asarray(got.get("count"))
        ok = count.shape == (s.steps, s.cells) and bool((count == s.sims).all())
        checks["count"] = (ok, f"count == {s.sims} everywhere" if ok else
                           f"count not {s.sims} everywhere: values {sorted(set(count.ravel().tolist()))}")
    else:
        checks["count"] = (False, "no results")
    summ = outcome.summary
    if summ is None:
        checks["summary"] = (False, "no summary.json")
    else:
        ok = summ.get("finished") == s.sims and summ.get("failed") == 0
        checks["summary"] = (ok, f"finished {summ.get('finished')}/{s.sims}, failed {summ.get('failed')}"
                             + ("" if ok else f", errors {summ.get('errors')}, failures {summ.get('failures')}"))
    fl = outcome.faults
    if fl is None:
        checks["faults"] = (False, "no faults.json")
    else:
        ok = fl.get("given_up") == 0 and fl.get("redrawn") == 0
        checks["faults"] = (ok, f"given_up {fl.get('given_up')}, redrawn {fl.get('redrawn')}, resubmitted "
                                f"{fl.get('resubmitted')}, server_restarts {fl.get('server_restarts')}")
    if baseline is not None and got is not None:
        try:
            ref = load_results(baseline.study)
            problem = compare_stats(got, ref, oracle(read_parameters(baseline.study), s.steps, s.cells)["_scale"],
                                    "the fault-free run")
            same_params = (read_parameters(study) == read_parameters(baseline.study)).all()
            if not same_params:
                problem = (problem + "; " if problem else "") + "parameters.csv differs from the fault-free run's"
            checks["baseline"] = (not problem, problem or f"equal to the fault-free run {baseline.study}")
        except Exception as e:
            checks["baseline"] = (False, f"comparison failed: {e!r}")
    checks["processes"] = (not outcome.leftovers,
                           "none left" if not outcome.leftovers else
                           f"{len(outcome.leftovers)} left after the launcher exited (killed by the harness): "
                           + "; ".join(f"pid {p} [{st}] {cmd[:160]}" for p, st, cmd in outcome.leftovers))
    if baseline is not None:
        n = len(outcome.schedule.faults)
        bound = baseline.wall * WALL_FACTOR + WALL_PER_FAULT * n
        checks["wall_time"] = (outcome.wall <= bound, f"{outcome.wall:.1f} s, {outcome.wall / baseline.wall:.2f} x "
                               f"fault-free {baseline.wall:.1f} s; bound {WALL_FACTOR:g} x fault-free + "
                               f"{WALL_PER_FAULT:g} s x {n} fault(s) = {bound:.1f} s")
    return checks


# ---------------------------------------------------------------------------------------------
# fault-free runs, cached per shape

class Baselines:
    """Fault-free runs, one per study shape, in `workdir`/baseline-<shape> (reused while the
    installed server, library and client source are unchanged)."""

    def __init__(self, prefix, workdir, ports=(25803, 29803)):
        self.prefix, self.workdir, self.ports = pathlib.Path(prefix), pathlib.Path(workdir), ports
        self.cache: dict[Shape, Outcome] = {}

    def _stamp(self):
        parts = [CLIENT_SOURCE.read_bytes(), pathlib.Path(__file__).read_bytes()]
        for rel in ("bin/melissa-server", "bin/melissa-launcher", "lib/libmelissa.so"):
            st = (self.prefix / rel).stat()
            parts.append(f"{rel}:{st.st_mtime_ns}:{st.st_size}".encode())
        return hashlib.sha256(b"".join(parts)).hexdigest()[:16]

    def get(self, shape, timeout=240):
        if shape in self.cache:
            return self.cache[shape]
        stamp = self._stamp()
        where = self.workdir / f"baseline-{shape.key}"
        meta = where / "baseline.json"
        schedule = Schedule.fault_free(shape)
        if meta.exists():
            data = _json(meta)
            if data and data.get("stamp") == stamp and (where / "study" / "results" / "temperature.nc").exists():
                out = Outcome(schedule=schedule, study=where / "study", exit_code=0, wall=data["wall"],
                              summary=_json(where / "study" / "summary.json"),
                              faults=_json(where / "study" / "faults.json"), leftovers=[], injected=[],
                              not_injected=[], checks={}, launcher_log=_read(where / "launcher.log").decode(errors="replace"))
                out.checks = check(out)
                self.cache[shape] = out
                return out
        if where.exists():
            shutil.rmtree(where)
        out = run_schedule(self.prefix, where, schedule, ports=self.ports, timeout=timeout)
        if out.ok:
            meta.write_text(json.dumps({"stamp": stamp, "wall": out.wall, "shape": dataclasses.asdict(shape)}))
        self.cache[shape] = out
        return out


# ---------------------------------------------------------------------------------------------
# the soak

def _default_prefix():
    return pathlib.Path(os.environ.get("MELISSA_PREFIX", ROOT / "build"))


def _ports(base, k):
    """(connection, data) ports of run k from a base; the launcher port is connection + 50."""
    return (base + 100 * k + 3, base + 4000 + 100 * k + 3)


def soak(args):
    prefix = pathlib.Path(args.prefix) if args.prefix else _default_prefix()
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()] if args.kinds else None
    workdir = pathlib.Path(args.workdir or tempfile.mkdtemp(prefix="chaos-soak-"))
    workdir.mkdir(parents=True, exist_ok=True)
    out_path = pathlib.Path(args.out) if args.out else workdir / "chaos-soak.md"
    checkpoint_kill = False if args.no_checkpoint_kill else None
    baselines = Baselines(prefix, workdir / "baselines", ports=_ports(args.port_base, 0))
    print(f"chaos soak: {args.schedules} schedule(s) from seed {args.seed}, kinds {kinds or 'all'}, "
          f"work in {workdir}, table to {out_path}", flush=True)
    if checkpoint_kill is None and not has_checkpoint_kill_hook(prefix):
        print("chaos soak: melissa-server has no MELISSA_FAULT_KILL_IN_CHECKPOINT hook: "
              "server_kill_in_checkpoint is drawn but not injected", flush=True)
    header = ("| seed | fault kinds | outcome | wall s | overhead | seen by the study | notes |\n"
              "|---:|---|---|---:|---:|---|---|")
    rows, results = [], []
    started = time.monotonic()
    print(header, flush=True)
    for i in range(args.schedules):
        seed = args.seed + i
        schedule = Schedule.draw(seed, kinds)
        base = baselines.get(schedule.shape)
        if not base.ok:
            print(f"chaos soak: the fault-free run of {schedule.shape.key} failed:\n{base.report()}", flush=True)
            return 2
        where = workdir / f"seed{seed}"
        if where.exists():
            shutil.rmtree(where)
        outcome = run_schedule(prefix, where, schedule, ports=_ports(args.port_base, 1), baseline=base,
                               timeout=args.timeout, checkpoint_kill=checkpoint_kill)
        verdict = "ok" if outcome.ok else "FAIL: " + ", ".join(outcome.failed)
        notes = []
        if outcome.not_injected:
            notes.append("not injected: " + "; ".join(outcome.not_injected))
        if not outcome.ok:
            notes.append(f"{outcome.why[:220]}; kept in {outcome.study}")
            (where / "chaos-report.txt").write_text(outcome.report())
        row = (f"| {seed} | {outcome.schedule.label} | {verdict} | {outcome.wall:.1f} | "
               f"{outcome.overhead:.2f} | {outcome.effect} | {' '.join(notes).replace('|', '/')} |")
        rows.append(row)
        results.append(outcome)
        print(row, flush=True)
        if outcome.ok and not args.keep:
            shutil.rmtree(where, ignore_errors=True)
    per_kind = {}
    for o in results:
        for k in set(o.schedule.kinds + (["combo"] if o.schedule.combo else [])):
            per_kind.setdefault(k, []).append(o)
    total = time.monotonic() - started
    lines = ["", "| fault kind | schedules | failures | mean overhead | max overhead |", "|---|---:|---:|---:|---:|"]
    for k in ALL_KINDS:
        if k in per_kind:
            runs = per_kind[k]
            ov = [o.overhead for o in runs]
            lines.append(f"| {k} | {len(runs)} | {sum(not o.ok for o in runs)} | {np.mean(ov):.2f} | {max(ov):.2f} |")
    failures = [o for o in results if not o.ok]
    lines += ["", f"{len(results)} schedule(s), {len(failures)} failure(s), {total:.0f} s; fault-free walls: "
              + ", ".join(f"{sh.key} {b.wall:.1f} s" for sh, b in baselines.cache.items())]
    for line in lines:
        print(line, flush=True)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(f"# Chaos soak\n\nseeds {args.seed}..{args.seed + args.schedules - 1}, kinds "
                        f"{', '.join(kinds) if kinds else 'all'}, prefix {prefix}\n\n" + header + "\n"
                        + "\n".join(rows) + "\n" + "\n".join(lines) + "\n")
    print(f"table written to {out_path}", flush=True)
    return 1 if failures else 0


def main(argv=None):
    p = argparse.ArgumentParser(prog="chaos.py", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("soak", help="run random schedules and print a table")
    s.add_argument("--schedules", type=int, default=200)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--kinds", default="", help=f"comma-separated subset of {', '.join(ALL_KINDS)}")
    s.add_argument("--out", default="", help="Markdown table path (default <workdir>/chaos-soak.md)")
    s.add_argument("--workdir", default="", help="where studies go (default a new /tmp/chaos-soak-*)")
    s.add_argument("--prefix", default="", help="install prefix (default $MELISSA_PREFIX or <repo>/build)")
    s.add_argument("--timeout", type=float, default=300, help="per-schedule timeout, seconds")
    s.add_argument("--keep", action="store_true", help="keep the study directories of passing schedules")
    s.add_argument("--no-checkpoint-kill", action="store_true", help="never inject server_kill_in_checkpoint")
    s.add_argument("--port-base", type=int, default=25800,
                   help="fault-free runs use connection port BASE+3, data BASE+4003, launcher BASE+53; "
                        "schedules BASE+103, BASE+4103, BASE+153 (default 25800)")
    for name in ("run", "show"):
        r = sub.add_parser(name, help=f"{name} one schedule")
        r.add_argument("--seed", type=int, required=True)
        r.add_argument("--kinds", default="")
        if name == "run":
            r.add_argument("--workdir", default="")
            r.add_argument("--prefix", default="")
            r.add_argument("--timeout", type=float, default=300)
            r.add_argument("--no-checkpoint-kill", action="store_true")
            r.add_argument("--port-base", type=int, default=25800)
    args = p.parse_args(argv)
    kinds = [k for k in getattr(args, "kinds", "").split(",") if k] or None
    if args.command == "soak":
        return soak(args)
    schedule = Schedule.draw(args.seed, kinds)
    if args.command == "show":
        print(schedule.describe())
        print("plan:\n" + "\n".join("  " + l for l in schedule.plan_lines()))
        return 0
    prefix = pathlib.Path(args.prefix) if args.prefix else _default_prefix()
    workdir = pathlib.Path(args.workdir or tempfile.mkdtemp(prefix="chaos-run-"))
    base = Baselines(prefix, workdir / "baselines", ports=_ports(args.port_base, 0)).get(schedule.shape)
    print(f"fault-free: {'ok' if base.ok else 'FAIL'} in {base.wall:.1f} s ({base.study})")
    where = workdir / f"seed{args.seed}"
    if where.exists():
        shutil.rmtree(where)
    outcome = run_schedule(prefix, where, schedule, ports=_ports(args.port_base, 1), baseline=base, timeout=args.timeout,
                           checkpoint_kill=False if args.no_checkpoint_kill else None)
    print(outcome.report())
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main())
