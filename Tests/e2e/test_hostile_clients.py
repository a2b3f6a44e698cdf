"""End to end against hostile clients: the real launcher runs the real server on 2 ranks,
and fake simulations (hostile_client.py, pyzmq, no client library) send their valid data
mixed with every kind of bad data message and a bad handshake. Bad input must be dropped
and counted under its reason, never applied, and the study must survive it."""
import json
import pathlib
import re
import sys

import numpy as np
import pytest

from conftest import base_config, load_results, run_launcher, write_config

HERE = pathlib.Path(__file__).resolve().parent
CLIENT = HERE / "hostile_client.py"
sys.path.insert(0, str(HERE))
import hostile_client  # noqa: E402  (the value formula, for the oracle)

GLOBAL_SIZE = 10
STEPS = 3
SERVER_RANKS = 2

# What each hostile kind of hostile_client.py sends, and where the server must count it:
# {kind: {counter in summary.json: messages}}. Written here from the protocol, independently
# of the client; the test checks the client's log of what it sent agrees.
EXPECTED = {
    "garbage": {"malformed": 4},          # random bytes, empty frame, 6 bytes, bad magic
    "truncated": {"malformed": 2},        # count 5 with 3 values; a 40-byte header
    "count_mismatch": {"malformed": 2},   # more values than count
    "wrong_version": {"malformed": 2},    # versions 2 and 0
    "wrong_kind": {"malformed": 1},       # data kind 2
    "slice_overflow": {"malformed": 2},   # offset + count > global size; u64 overflow
    "unknown_simulation": {"unknown_simulation": 2},
    "unknown_field": {"unknown_field": 2},
    "out_of_range_step": {"out_of_range_step": 3},
    "misrouted": {"misrouted": 4},        # other rank's block, straddling, empty notice
    "duplicate": {"duplicates": 2},       # exact copies of step 0, before completion
    "inconsistent": {"inconsistent": 2},  # global size 11 and 9
    "overfill": {"inconsistent": 2},      # other client ranks overfilling a complete step
    "after_close": {"closed_simulation": 2},  # exact copies of the last step, after completion
}
DROP_COUNTERS = ["malformed", "unknown_simulation", "unknown_field", "out_of_range_step",
                 "misrouted", "duplicates", "closed_simulation", "inconsistent"]


def hostile_study(tmp, plan_sims, *, sims, steps=STEPS, global_size=GLOBAL_SIZE, job_limit=2,
                  simulation_timeout=5, ports=(23003, 27000)):
    """A study whose simulations are hostile_client.py under `mpirun -n 1`; returns
    (config path, dump dir). `plan_sims`: {sim id: plan entry} (see hostile_client.py)."""
    dump = tmp / "dump"
    dump.mkdir(exist_ok=True)
    plan = tmp / "plan.json"
    plan.write_text(json.dumps({"global_size": global_size, "sims_total": sims,
                                "sims": {str(k): v for k, v in plan_sims.items()}}))
    cfg = base_config(tmp, sims=sims, steps=steps, seed=11, bounds=([0.0, 1.0], [1.0, 2.0]),
                      executable=sys.executable,  # the venv's python (it has pyzmq)
                      args=[CLIENT, "--plan", plan, "--dump", dump], client_ranks=1,
                      server_ranks=SERVER_RANKS, job_limit=job_limit, ports=ports,
                      simulation_timeout=simulation_timeout)
    path = write_config(tmp, cfg, "written by the hostile-client tests")
    return path, dump


def expected_drops(plan_sims):
    out = dict.fromkeys(DROP_COUNTERS, 0)
    for entry in plan_sims.values():
        for kind in entry.get("kinds", []):
            for counter, n in EXPECTED[kind].items():
                out[counter] += n
    return out


def valid_sent(dump, sim):
    """What simulation `sim` sent as valid data, checked against the value formula."""
    sent = np.load(dump / f"valid.sim{sim}.npy")
    formula = np.array([[hostile_client.value(sim, t, i) for i in range(sent.shape[1])]
                        for t in range(sent.shape[0])])
    np.testing.assert_array_equal(sent, formula)
    return sent


def sent_log(dump, sims):
    return {s: json.loads((dump / f"sent.sim{s}.json").read_text()) for s in range(sims)}


def results(study):
    r = load_results(study)
    return r["mean"], r["variance"], r["count"]


def check_launcher(proc, code):
    assert proc.returncode == code, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"


# --- study 1: every kind of bad data message, and a bad handshake ----------------------------

ALL_KINDS = list(EXPECTED)
HOSTILE_SIMS = 4
HOSTILE_PLAN = {
    0: {"kinds": ALL_KINDS},
    # 1: well behaved
    2: {"kinds": ["duplicate", "garbage", "misrouted", "after_close"], "bad_handshake": True},
    3: {"kinds": list(reversed(ALL_KINDS))},
}


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory, prefix):
    tmp = tmp_path_factory.mktemp("hostile")
    config, dump = hostile_study(tmp, HOSTILE_PLAN, sims=HOSTILE_SIMS)
    proc = run_launcher(prefix, config, timeout=120)
    return proc, tmp / "study", dump


def test_bad_data_is_dropped_counted_and_never_applied(hostile_run):
    proc, study, dump = hostile_run
    check_launcher(proc, 0)
    summary = json.loads((study / "summary.json").read_text())
    assert summary["finished"] == HOSTILE_SIMS and summary["failed"] == 0, summary
    assert summary["failures"] == [] and summary["exit_code"] == 0 and summary["stopped"] is None

    # The clients sent exactly what this test expects, kind by kind.
    sent = sent_log(dump, HOSTILE_SIMS)
    for s in range(HOSTILE_SIMS):
        kinds = HOSTILE_PLAN.get(s, {}).get("kinds", [])
        assert set(sent[s]) == {"valid", *kinds}, (s, sent[s])
        assert sent[s]["valid"]["messages"] == STEPS * SERVER_RANKS
        for kind in kinds:
            assert sent[s][kind]["messages"] == sum(EXPECTED[kind].values()), (s, kind)

    counters = summary["counters"]
    want = expected_drops(HOSTILE_PLAN)
    assert want["malformed"] and want["duplicates"] and want["closed_simulation"]  # the test bites
    assert {k: counters[k] for k in DROP_COUNTERS} == want
    valid = HOSTILE_SIMS * STEPS * SERVER_RANKS
    assert counters["accepted"] == valid
    total_messages = sum(e["messages"] for log in sent.values() for e in log.values())
    assert counters["messages"] == total_messages == valid + sum(want.values())
    assert counters["bytes"] == sum(e["bytes"] for log in sent.values() for e in log.values())

    # Nothing bad was applied: the statistics are those of the valid values only.
    raw = np.stack([valid_sent(dump, s) for s in range(HOSTILE_SIMS)])
    mean, var, count = results(study)
    assert mean.shape == var.shape == count.shape == (STEPS, GLOBAL_SIZE)
    assert (count == HOSTILE_SIMS).all()
    np.testing.assert_allclose(mean, raw.mean(axis=0), rtol=1e-12, atol=0)
    np.testing.assert_allclose(var, raw.var(axis=0, ddof=1), rtol=1e-12, atol=1e-300)
    assert np.abs(mean).max() < 100  # no 1e12 poison anywhere


def test_bad_version_handshake_is_refused_naming_both_versions(hostile_run):
    proc, study, dump = hostile_run
    seen = json.loads((dump / "handshake.sim2.json").read_text())
    refusal = seen["version1"]  # a client of the handshake before data mechanisms
    assert refusal["magic"] == "MLSH" and refusal["version"] == 3 and refusal["kind"] == 3, refusal
    reason = refusal["reason"]
    assert "version 3" in reason and "version 1" in reason, reason
    assert reason == "protocol version mismatch: peer speaks version 1, this side speaks version 3"
    # Every other bad request got a refusal too (REP never wedged: the study went on).
    for name in ("version1_short", "garbage", "unknown_simulation", "zero_ranks", "two_frames"):
        assert seen[name]["kind"] == 3 and seen[name]["reason"], (name, seen[name])
    assert str(HOSTILE_SIMS) in seen["unknown_simulation"]["reason"]
    # ... and the simulation that sent them, like the study, finished normally.
    check_launcher(proc, 0)
    summary = json.loads((study / "summary.json").read_text())
    assert summary["finished"] == HOSTILE_SIMS and summary["failed"] == 0
    reply = json.loads((dump / "reply.sim2.json").read_text())["reply"]
    assert reply["kind"] == 2 and reply["server_ranks"] == SERVER_RANKS
    assert reply["fields"] == ["temperature"] and reply["nb_time_steps"] == STEPS


# --- study 2: a simulation that stops early but exits 0 --------------------------------------

def test_simulation_sending_part_of_its_steps_fails_and_the_others_finish(tmp_path, prefix):
    sims, partial, sent_steps = 3, 1, 2
    config, dump = hostile_study(tmp_path, {partial: {"stop_after": sent_steps}}, sims=sims,
                                 simulation_timeout=2, ports=(23103, 27100))
    proc = run_launcher(prefix, config, timeout=120)
    check_launcher(proc, 1)
    summary = json.loads((tmp_path / "study" / "summary.json").read_text())
    assert summary["finished"] == sims - 1 and summary["failed"] == 1, summary
    assert summary["exit_code"] == 1
    [failure] = summary["failures"]
    assert failure["simulation"] == partial
    assert "server ranks" in failure["reason"] and "data" in failure["reason"], failure
    counters = summary["counters"]
    assert counters["accepted"] == ((sims - 1) * STEPS + sent_steps) * SERVER_RANKS
    assert all(counters[k] == 0 for k in DROP_COUNTERS), counters

    # Its steps that arrived were applied (RESULTS.md), the missing one is not counted.
    raw = [valid_sent(dump, s) for s in range(sims)]
    assert raw[partial].shape == (sent_steps, GLOBAL_SIZE)
    mean, var, count = results(tmp_path / "study")
    for t in range(STEPS):
        have = np.stack([r[t] for r in raw if t < len(r)])
        assert (count[t] == len(have)).all(), (t, count[t])
        np.testing.assert_allclose(mean[t], have.mean(axis=0), rtol=1e-12, atol=0)
        np.testing.assert_allclose(var[t], have.var(axis=0, ddof=1), rtol=1e-12, atol=1e-300)


# --- regressions: server bugs these clients found (fixed) ---------------------------------

def test_multipart_data_message_is_malformed_and_not_applied(tmp_path, prefix):
    sims = 2
    plan = {0: {"kinds": ["multipart"]}}
    config, dump = hostile_study(tmp_path, plan, sims=sims, ports=(23203, 27200))
    proc = run_launcher(prefix, config, timeout=120)
    check_launcher(proc, 0)
    summary = json.loads((tmp_path / "study" / "summary.json").read_text())
    counters = summary["counters"]
    assert counters["accepted"] == sims * STEPS * SERVER_RANKS, counters
    assert counters["duplicates"] == 0 and counters["malformed"] >= 1, counters
    raw = np.stack([valid_sent(dump, s) for s in range(sims)])
    mean, _, count = results(tmp_path / "study")
    assert (count == sims).all()
    np.testing.assert_allclose(mean, raw.mean(axis=0), rtol=1e-12, atol=0)


def test_dropped_first_message_does_not_fix_the_field_layout(tmp_path, prefix):
    sims = 2
    # job_limit 1: simulation 0 runs alone, so its bad message is the first server rank 0 sees.
    plan = {0: {"kinds": ["layout_poison"]}}
    config, dump = hostile_study(tmp_path, plan, sims=sims, job_limit=1, simulation_timeout=2,
                                 ports=(23303, 27300))
    proc = run_launcher(prefix, config, timeout=120)
    summary_path = tmp_path / "study" / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    assert summary.get("counters", {}).get("misrouted") == 1, (summary, proc.stdout, proc.stderr)
    assert summary["counters"]["inconsistent"] == 0, summary
    check_launcher(proc, 0)
    assert summary["finished"] == sims and summary["failed"] == 0
    raw = np.stack([valid_sent(dump, s) for s in range(sims)])
    mean, _, _ = results(tmp_path / "study")
    np.testing.assert_allclose(mean, raw.mean(axis=0), rtol=1e-12, atol=0)


def test_ranks_that_learned_different_sizes_do_not_crash_the_server(tmp_path, prefix):
    sims = 2
    # Simulation 0's first message to server rank 0 says the field has 1000 values and lies
    # in rank 0's block of that size: rank 0 accepts it (the first message gives the size),
    # rank 1 learns 10 from valid data; rank 0 then drops all valid data as inconsistent, so
    # simulation 0 fails, which ends the study (fault tolerance off). It must end in order,
    # with its summary.
    plan = {0: {"kinds": ["layout_accepted"]}}
    config, dump = hostile_study(tmp_path, plan, sims=sims, job_limit=1, simulation_timeout=2,
                                 ports=(23403, 27400))
    proc = run_launcher(prefix, config, timeout=120)
    study = tmp_path / "study"
    err = (study / "server.err").read_text() if (study / "server.err").exists() else ""
    err = re.sub(r"\x1b\[[0-9;]*m", "", err)
    assert "crashed" not in err and "signal" not in proc.stdout + proc.stderr, err[:3000]
    summary = json.loads((study / "summary.json").read_text())
    assert summary["failed"] == 1 and summary["finished"] == 0, summary
    assert summary["counters"]["inconsistent"] >= STEPS, summary
    assert any("different field sizes" in e for e in summary["errors"]), summary
    check_launcher(proc, 1)
