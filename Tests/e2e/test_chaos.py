"""End to end, short chaos mode: a fault-free baseline and fixed seeds of Tests/e2e/chaos.py
that together inject every fault kind at least once (chaos.py lists the kinds and the
properties). Each schedule runs a real study (launcher, server under mpirun, 3-rank MPI clients
that never synchronise after melissa_init) and must end with exit code 0, the statistics of the
numpy oracle and of the fault-free run, every simulation finished, nothing given up or redrawn,
no process left, and a wall time within 3 x fault-free + 20 s per fault.

Long mode: Scripts/chaos-soak.sh. One schedule by hand: python Tests/e2e/chaos.py run --seed S.
server_kill_in_checkpoint needs MELISSA_FAULT_KILL_IN_CHECKPOINT in melissa-server: without the
hook (or with CHAOS_NO_CHECKPOINT_KILL=1) that fault is left out of its schedule, and the failure
message of that schedule says so.

Ports: connection 25103 + 100 k, data 29103 + 100 k, launcher 25153 + 100 k for schedule k; the
fault-free run 25803 / 29803 / 25853. No other end-to-end test uses 25100-25999 or 29100-29999."""
import pytest

from chaos import ALL_KINDS, Baselines, Schedule, run_schedule

# seed: the fault kinds it must draw (checked, so a change of the draw cannot silently drop a
# kind) and why it is here. All of them are 12 simulations x 7 steps: one fault-free run.
SCHEDULES = [
    (2729, ["client_rank_kill"], "rank 0 of 3 SIGKILLed before step 3 of 7 while ranks 1, 2 keep sending"),
    (67, ["server_rank_kill"], "server rank 1 SIGKILLed after 2 simulations finished"),
    (28, ["launcher_kill_resume"], "launcher and study SIGKILLed after 4 finished, then --resume"),
    (3106, ["job_kill", "early_exit0", "finalize_crash"], "combo of three client faults"),
    (3153, ["rank_hang", "late_data", "server_kill_in_checkpoint"], "combo: hang, late data, checkpoint kill"),
]
assert {k for _, kinds, _ in SCHEDULES for k in kinds} | {"combo"} == set(ALL_KINDS)


def test_schedules_are_reproducible_and_cover_every_kind():
    """No study: the same seed draws the same schedule and plan, and every kind is drawn."""
    seen = set()
    for seed in range(300):
        a, b = Schedule.draw(seed), Schedule.draw(seed)
        assert a == b and a.plan_lines() == b.plan_lines(), seed
        sims = [f.sim for f in a.faults if f.sim is not None]
        assert len(sims) == len(set(sims)), f"seed {seed}: two client faults in one simulation: {a.describe()}"
        seen |= set(a.kinds) | ({"combo"} if a.combo else set())
    assert seen == set(ALL_KINDS), set(ALL_KINDS) - seen
    assert Schedule.draw(5, ["rank_hang"]).kinds == ["rank_hang"]


@pytest.fixture(scope="session")
def baselines(prefix, tmp_path_factory):
    return Baselines(prefix, tmp_path_factory.mktemp("chaos-baselines"), ports=(25803, 29803))


def test_fault_free_run_matches_the_oracle(baselines):
    base = baselines.get(Schedule.draw(SCHEDULES[0][0]).shape)
    if not base.ok:
        pytest.fail("the fault-free run fails its own checks:\n" + base.report(), pytrace=False)


@pytest.mark.parametrize("k, seed, kinds, why", [(k, *s) for k, s in enumerate(SCHEDULES)],
                         ids=[Schedule.draw(s[0]).test_id for s in SCHEDULES])
def test_schedule(k, seed, kinds, why, prefix, baselines, tmp_path):
    schedule = Schedule.draw(seed)
    assert schedule.kinds == kinds, f"seed {seed} now draws {schedule.kinds}, not {kinds}: pick another seed"
    base = baselines.get(schedule.shape)
    assert base.ok, "the fault-free run fails its own checks:\n" + base.report()
    outcome = run_schedule(prefix, tmp_path, schedule, ports=(25103 + 100 * k, 29103 + 100 * k),
                           baseline=base, timeout=240)
    if not outcome.ok:
        pytest.fail(f"chaos schedule seed {seed} ({why}) failed {', '.join(outcome.failed)}\n" + outcome.report(),
                    pytrace=False)
