"""End to end across several "machines": the multi-node Slurm of Scripts/cluster.sh, whose
nodes are network and UTS namespaces with their own addresses and host names. The launcher
runs on the login node, the server's ranks on one compute node and the clients on others, so
every byte of data crosses between namespaces; the server records where its data came from
(summary.json `data_peers`, libzmq's Peer-Address), and the tests check it. A server killed on
one node is restarted from its checkpoint on another."""
import json
import os
import re
import signal
import subprocess
import time

import numpy as np
import pytest

from conftest import ROOT, base_config, load_results, write_config
from test_restart import pids, wait_for
from test_study import load_dumps

if os.environ.get("MELISSA_SKIP_SLURM") == "1" or os.environ.get("MELISSA_SKIP_CLUSTER") == "1":
    pytest.skip("MELISSA_SKIP_SLURM=1 or MELISSA_SKIP_CLUSTER=1", allow_module_level=True)

CLUSTER = str(ROOT / "Scripts" / "cluster.sh")


@pytest.fixture(scope="module")
def cluster():
    """The cluster's node addresses ({host: address}), started for these tests (and stopped
    after them) unless it already runs. Fails, not skips, when it cannot start."""
    started = False
    if subprocess.run([CLUSTER, "status"], capture_output=True).returncode != 0:
        up = subprocess.run([CLUSTER, "start", "--nodes", "3"], capture_output=True, text=True)
        assert up.returncode == 0, f"Scripts/cluster.sh start failed: {up.stdout}{up.stderr}"
        started = True
    hosts = dict(line.split() for line in subprocess.run([CLUSTER, "hosts"], capture_output=True, text=True,
                                                         check=True).stdout.splitlines())
    env = subprocess.run([CLUSTER, "env"], capture_output=True, text=True, check=True).stdout
    conf = re.search(r"SLURM_CONF=(\S+)", env).group(1).strip("'\"")
    yield {"hosts": hosts, "slurm_conf": conf}
    if started:
        subprocess.run([CLUSTER, "stop"], capture_output=True)


def slurm(cluster, *args):
    """A Slurm command against the multi-node cluster."""
    return subprocess.run(list(args), capture_output=True, text=True, check=True,
                          env=dict(os.environ, SLURM_CONF=cluster["slurm_conf"])).stdout


def multinode_config(tmp, prefix, *, sims, steps, substeps=1, server_args=(), client_args=(), checkpoint=None):
    dump = tmp / "dump"
    dump.mkdir(exist_ok=True)
    cfg = base_config(tmp, sims=sims, steps=steps, executable=prefix / "bin" / "heat2d",
                      args=["--steps", steps, "--nx", 24, "--ny", 15, "--substeps", substeps],
                      job_limit=4, ports=(21603, 25603), fault_tolerance=checkpoint is not None,
                      preprocessing=[f"export HEAT2D_DUMP_DIR={dump}"])
    launcher = cfg["launcher_config"]
    launcher["scheduler"] = "slurm"
    # One simulation's 2 ranks on one node (-N 1); the server's 2 ranks likewise.
    launcher["scheduler_arg_client"] = ["-N", "1", "-n", "2", *client_args]
    launcher["scheduler_arg_server"] = ["-N", "1", "-n", "2", *server_args]
    launcher["timer_delay"] = 0.2
    launcher["verbosity"] = 2
    cfg["study_options"]["crashes_before_redraw"] = 100
    if checkpoint is not None:
        cfg["sa_config"]["checkpoint_interval"] = checkpoint
    return write_config(tmp, cfg), dump


def launch(cluster, prefix, config):
    """The launcher on the login node, in the background; its output in launcher.log."""
    log = open(config.parent / "launcher.log", "w")
    return subprocess.Popen([CLUSTER, "exec", "login", "--", str(prefix / "bin" / "melissa-launcher"), str(config)],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def said(config):
    return (config.parent / "launcher.log").read_text()


def server_hosts(study):
    """The host of every server run, in order (rank 0 logs where clients connect)."""
    log = (study / "server.rank0.log").read_text()
    return re.findall(r"clients connect to tcp://([^:]+):", log)


def assert_matches_numpy(study, dump, sims, steps):
    raw = load_dumps(dump, sims, steps, 2)
    res = load_results(study)
    np.testing.assert_allclose(res["mean"], raw.mean(axis=0), rtol=1e-12, atol=0)
    np.testing.assert_allclose(res["variance"], raw.var(axis=0, ddof=1), rtol=1e-12, atol=1e-300)
    assert (res["count"] == sims).all()


def test_a_study_spread_over_nodes_moves_its_data_between_them(tmp_path, prefix, cluster):
    hosts = cluster["hosts"]
    sims, steps = 8, 10
    # The server on node1, the clients anywhere else.
    config, dump = multinode_config(tmp_path, prefix, sims=sims, steps=steps,
                                    server_args=["--nodelist=mlsn-node1"], client_args=["--exclude=mlsn-node1"])
    launcher = launch(cluster, prefix, config)
    assert launcher.wait(timeout=300) == 0, said(config)
    study = tmp_path / "study"
    summary = json.loads((study / "summary.json").read_text())
    assert summary["finished"] == sims and summary["failed"] == 0, summary
    assert_matches_numpy(study, dump, sims, steps)

    # The launcher listened on the login node and the server ran on node1 ...
    assert "launcher listening on tcp://mlsn-login:" in said(config), said(config)
    assert server_hosts(study) == ["mlsn-node1"]
    # ... and every server rank received every simulation from the other nodes' addresses.
    peers = summary["data_peers"]
    assert peers, summary
    clients = {hosts["mlsn-node2"], hosts["mlsn-node3"]}
    assert {p["address"] for p in peers} <= clients, (peers, hosts)
    for rank in (0, 1):
        assert sum(p["simulations"] for p in peers if p["rank"] == rank) == sims, peers
    # Slurm's own record: the client jobs ran on node2 and node3, never on the server's node.
    ids = set(re.findall(r"submitted as slurm job (\d+)", said(config)))
    assert len(ids) == sims, said(config)
    nodes = slurm(cluster, "sacct", "-c", "-X", "-n", "-P", "-o", "JobIDRaw,NodeList")
    ran = {line.split("|")[1] for line in nodes.splitlines() if line.split("|")[0] in ids}
    assert ran and "mlsn-node1" not in ran, nodes


def test_a_server_killed_on_one_node_restarts_on_another_from_its_checkpoint(tmp_path, prefix, cluster):
    sims, steps = 10, 12
    config, dump = multinode_config(tmp_path, prefix, sims=sims, steps=steps, substeps=30000, checkpoint=1.0)
    study = tmp_path / "study"
    launcher = launch(cluster, prefix, config)
    drained = None
    try:
        assert wait_for(lambda: (study / "server.rank0.log").exists() and server_hosts(study), timeout=60), said(config)
        first = server_hosts(study)[0]
        log = lambda: (study / "server.rank0.log").read_text()
        assert wait_for(lambda: log().count("finished (") >= 2 and log().count("written") >= 1, timeout=120), log()
        # The node is lost: every server process dies at once, and Slurm takes the node out.
        slurm(cluster, "scontrol", "update", f"nodename={first}", "state=drain", "reason=melissa test: node lost")
        drained = first
        victims = pids(f"melissa-server {config}")
        assert victims
        for pid in victims:
            os.kill(pid, signal.SIGKILL)
        assert wait_for(lambda: "server restarted (1/" in said(config), timeout=60), said(config)
        assert launcher.wait(timeout=300) == 0, said(config)
    finally:
        if launcher.poll() is None:
            launcher.kill()
        if drained:
            slurm(cluster, "scontrol", "update", f"nodename={drained}", "state=resume")
    runs = server_hosts(study)
    assert len(runs) == 2 and runs[0] != runs[1], runs
    assert "restored checkpoint" in (study / "server.rank0.log").read_text()
    summary = json.loads((study / "summary.json").read_text())
    assert summary["finished"] == sims and summary["faults"]["server_restarts"] == 1, summary
    assert_matches_numpy(study, dump, sims, steps)
    # The restarted server, on its new node, still got its data over the network.
    assert summary["data_peers"] and all(p["address"].startswith("10.77.0.") for p in summary["data_peers"])
