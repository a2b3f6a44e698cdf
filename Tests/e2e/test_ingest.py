"""The ingest benchmark in its short mode, so it cannot rot, and back-pressure against a server
slowed down on purpose. Both assert what was received (every message once, exact statistics),
never a speed: docs/PERFORMANCE.md has the figures."""
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT

RUN = ROOT / "Benchmarks" / "ingest" / "run.sh"


def bench_binary():
    """The debug melissa-bench-ingest that `swift build --build-tests` made."""
    bin_dir = subprocess.run(["swift", "build", "--show-bin-path"], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout.strip()
    return f"{bin_dir}/melissa-bench-ingest"


def run_bench(prefix, tmp_path, *args, timeout=300):
    env = dict(os.environ, MELISSA_BENCH_INGEST=bench_binary())
    return subprocess.run([str(RUN), "--prefix", str(prefix), "--work", str(tmp_path / "work"),
                           "--json", str(tmp_path / "rows.json"), *args],
                          capture_output=True, text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL)


def test_short_mode_checks_every_side(prefix, tmp_path):
    r = run_bench(prefix, tmp_path, "--short", "--port", "30100")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    rows = json.loads((tmp_path / "rows.json").read_text())
    assert [row["payload_bytes"] for row in rows] == [1024, 65536, 1048576]
    for row in rows:
        # raw-pull counted every byte; ours and ref passed their exact statistics check in run.py.
        assert row["raw"]["messages"] == row["messages"]
        assert row["raw-nm"]["messages"] == row["messages"]
        assert row["ours"]["messages"] == row["messages"]
        assert row["ours-plain"]["messages"] == row["messages"]
        assert row["ref"]["messages"] == row["messages"]
        assert row["ours"]["bytes"] == row["messages"] * (row["payload_bytes"] + 48)
        assert row["ours/raw"] > 0 and row["ours/ref"] > 0 and row["ours/ours-plain"] > 0
    # The server reported its CPU cost per GB (summary.json ingest.cpu_seconds_per_gb; sampled
    # every 256 messages per rank, so only the 1 KiB row has enough in short mode).
    assert rows[0]["ours"]["receiver_cpu_seconds_per_gb"] > 0
    assert "ours/raw" in r.stdout and "ours/ref" in r.stdout and "ours/ours-plain" in r.stdout
    # The plain side really ran without encryption.
    for row in rows:
        log = (tmp_path / "work" / f"ours-plain-{row['payload_bytes']}" / "server.rank0.log").read_text()
        assert "data sockets use PLAIN" in log


def test_a_slowed_server_still_receives_every_message_exactly_once(prefix, tmp_path):
    """Server ranks sleep 3 ms per message while two clients stream 64 KiB messages with
    high-water marks of 2 on both sides: what does not fit in those queues and the kernel's
    socket buffers waits in the clients (back-pressure) instead of being dropped. run.py fails
    unless `accepted` equals the messages sent, every drop counter is 0 (no duplicate) and the
    mean and variance are exactly those of the data sent."""
    r = run_bench(prefix, tmp_path, "--skip", "raw,raw-nm,ours-plain,ref", "--sizes", "65536", "--messages", "400",
                  "--simulations", "2", "--server-delay-us", "3000", "--client-hwm", "2", "--server-hwm", "2",
                  "--port", "30200")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    rows = json.loads((tmp_path / "rows.json").read_text())
    assert rows[0]["ours"]["messages"] == rows[0]["messages"] == 400
    summary = json.loads((tmp_path / "work" / "ours-65536" / "summary.json").read_text())
    assert summary["counters"]["accepted"] == 400 and summary["counters"]["duplicates"] == 0
    # The delay really applied: 200 messages per rank, 199 sleeps of >= 3 ms between a rank's
    # first and last accepted message.
    assert summary["ingest"]["seconds"] >= 199 * 0.003
    for rank in (0, 1):
        log = (tmp_path / "work" / "ours-65536" / f"server.rank{rank}.log").read_text()
        assert "sleeping 3000 µs per accepted data message" in log


def load_run_py():
    # No __pycache__ beside run.py: that folder is a SwiftPM target's.
    sys.dont_write_bytecode = True
    spec = importlib.util.spec_from_file_location("ingest_run", ROOT / "Benchmarks" / "ingest" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_statistics_check_can_fail():
    """check_statistics accepts the exact statistics and refuses one perturbed cell."""
    run = load_run_py()
    mean, var = run.expected_statistics(5, 1, 40, 7, ddof=1)
    run.check_statistics("test", mean.copy(), var.copy(), 5, 1, 7, 40, ddof=1)
    mean[3, 11] += 1e-9
    with pytest.raises(SystemExit, match=r"mean\[step 3, cell 11\]"):
        run.check_statistics("test", mean, var, 5, 1, 7, 40, ddof=1)


def test_the_oracle_matches_numpy_on_the_values_the_clients_send():
    """expected_statistics against plain numpy over the values, built cell by cell from the
    formula in main.swift (an independent construction of the same data)."""
    run = load_run_py()
    sims, field, size, steps = 4, 2, 9, 12
    data = np.empty((steps, sims, size))
    for t in range(steps):
        for s in range(sims):
            for i in range(size):
                data[t, s, i] = s * 2 + t % 5 if i == t % size else (s % 7) + field * 0.25 + (i % 13) * 0.125
    mean, var = run.expected_statistics(sims, field, size, steps, ddof=1)
    assert np.array_equal(mean, data.mean(axis=1))
    np.testing.assert_allclose(var, data.var(axis=1, ddof=1), rtol=0, atol=1e-15)
