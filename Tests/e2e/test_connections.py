"""The connection-budget benchmark (Benchmarks/connections) in its short mode, so it cannot rot:
one driver process plays 50, then 200 client ranks of one simulation against one real server
rank, one data connection per client rank. Asserts what the server paid and received (one
connection and at least one descriptor per client rank, every message accepted, the mean of
what was sent), never a time or a rate: docs/PERFORMANCE.md has the figures."""
import json
import os
import subprocess

from conftest import ROOT

RUN = ROOT / "Benchmarks" / "connections" / "run.sh"
PORT = "30800"  # 30800-30812: distinct from every other end-to-end test and benchmark default


def clean_env():
    """The environment without Open MPI's/PMIx's variables; run.sh sources Scripts/mpi-env.sh."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("OMPI_", "PMIX_", "OPAL_", "ORTE_", "PRTE_"))}


def test_short_mode_one_connection_per_client_rank(prefix, tmp_path):
    rows_path = tmp_path / "rows.json"
    r = subprocess.run([str(RUN), "--short", "--prefix", str(prefix), "--work", str(tmp_path / "work"),
                        "--json", str(rows_path), "--port", PORT],
                       capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL, env=clean_env())
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    rows = json.loads(rows_path.read_text())
    assert [row["ranks"] for row in rows] == [50, 200]
    for row in rows:
        n = row["ranks"]
        assert row["errors"] == [], row["errors"]
        # The study: the launcher and the server agree it succeeded, every (client rank, step)
        # message arrived once and nothing was dropped; the mean is exactly what was sent.
        assert row["launcher_exit"] == 0
        s = row["summary"]
        assert (s["finished"], s["failed"], s["simulations"], s["exit_code"]) == (1, 0, 1, 0), s
        assert s["accepted"] == s["expected"] == n * row["steps"], s
        assert s["dropped"] == {}, s
        assert row["mean_check"] == "ok"
        # The server: no data connection before the driver connected, then exactly one
        # ESTABLISHED connection per client rank to its data port, each holding a descriptor.
        assert row["samples"]["baseline"] >= 1 and row["samples"]["connected"] >= 1, row["samples"]
        assert row["baseline"]["conns"] == 0
        assert row["connected"]["conns"] == n
        assert row["connected"]["fds"] - row["baseline"]["fds"] >= n, (row["baseline"], row["connected"])
        assert row["peak"]["conns"] == n
        assert row["connected"]["rss_kib"] > 0 and row["peak"]["hwm_kib"] >= row["connected"]["rss_kib"]
        # The driver saw every connection through its CURVE handshake and sent every step.
        assert row["encryption"] == "CURVE"
        assert row["events"]["connect_calls"]["sockets"] == n
        assert row["events"]["ingest_sent"]["messages"] == n * (row["steps"] - 1)
        log = (tmp_path / "work" / f"n{n}" / "server.rank0.log").read_text()
        assert f"simulation 0 connected with {n} client ranks" in log
    # Four times the client ranks: at least that many more descriptors on the server.
    small, large = rows
    assert large["connected"]["fds"] - small["connected"]["fds"] >= 150
    assert "marginal cost" in r.stdout and "fd/conn" in r.stdout, r.stdout
