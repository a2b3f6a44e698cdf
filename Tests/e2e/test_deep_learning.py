"""End to end: the deep-learning flavor (`server_class: "deep-learning"`) trains the heat2d
surrogate of Examples/heat2d-surrogate online, on 2 server ranks whose PyTorch trainers train
one model data-parallel, with a validation set made by an offline study. The trained model is
checked against an independent oracle: numpy's error of the mean field on the validation set.
Also: offline mode, a rank whose buffer runs dry first, and `kill -9` of a server rank."""
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import urllib.request

import numpy as np
import pytest

from conftest import ROOT, run_launcher, write_config
from test_restart import pids, said, start, wait_for

if os.environ.get("MELISSA_SKIP_TORCH") == "1":
    pytest.skip("MELISSA_SKIP_TORCH=1: the deep-learning tests need PyTorch", allow_module_level=True)
import torch  # noqa: E402  (Scripts/install-deps.sh torch installs it)
from safetensors.torch import load_file  # noqa: E402

EXAMPLE = ROOT / "Examples" / "heat2d-surrogate"
NX = NY = 16
STEPS = 20


def example_config(name):
    """Config/<name>.json without its comments, as a dict."""
    text = (ROOT / "Config" / name).read_text()
    lines = []
    for line in text.splitlines():
        # The example configs put // comments only outside strings.
        cut = line.find("//")
        lines.append(line if cut < 0 or line[:cut].count('"') % 2 else line[:cut])
    return json.loads("\n".join(lines))


def surrogate_config(tmp, prefix, validation, *, sims, ports, server_ranks=2, dl=None, study="study"):
    cfg = example_config("heat2d-surrogate.json")
    cfg["output_dir"] = str(tmp / study)
    cfg["study_options"]["parameter_sweep_size"] = sims
    cfg["dl_config"].update({"model_file": str(EXAMPLE / "model.py"), "python": sys.executable,
                             "validation_directory": str(validation)})
    cfg["dl_config"].update(dl or {})
    cfg["launcher_config"]["scheduler_arg_server"] = ["-n", str(server_ranks)]
    cfg["client_config"]["executable_command"] = str(prefix / "bin" / "heat2d")
    cfg["server_config"] = {"connection_port": ports[0], "data_port": ports[1]}
    return cfg


def offline_config(tmp, prefix, *, sims, ports, preprocessing=()):
    cfg = example_config("heat2d-surrogate-validation.json")
    cfg["output_dir"] = str(tmp / "validation")
    cfg["study_options"]["parameter_sweep_size"] = sims
    cfg["dl_config"]["model_file"] = str(EXAMPLE / "model.py")
    cfg["client_config"]["executable_command"] = str(prefix / "bin" / "heat2d")
    cfg["client_config"]["preprocessing_commands"] += list(preprocessing)
    cfg["launcher_config"]["fault_tolerance"] = True
    cfg["server_config"] = {"connection_port": ports[0], "data_port": ports[1]}
    return cfg


@pytest.fixture(scope="module")
def validation(tmp_path_factory, prefix):
    """The validation set: an offline study of 24 simulations, turned into .npz files."""
    tmp = tmp_path_factory.mktemp("validation")
    config = write_config(tmp, offline_config(tmp, prefix, sims=24, ports=(22403, 26400)))
    done = run_launcher(prefix, config, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    out = tmp / "npz"
    subprocess.run([sys.executable, str(EXAMPLE / "make_validation_set.py"), str(tmp / "validation"),
                    str(tmp / "validation" / "dumps"), str(out), "--steps", str(STEPS), "--cells", str(NX * NY)],
                   check=True, capture_output=True, text=True)
    return out


def validation_arrays(directory):
    """Every validation sample: parameters (n, 2), steps (n,), fields (n, cells)."""
    params, steps, fields = [], [], []
    for path in sorted(pathlib.Path(directory).glob("*.npz")):
        with np.load(path) as f:
            for t in range(f["temperature"].shape[0]):
                params.append(f["parameters"])
                steps.append(f["time_steps"][t])
                fields.append(f["temperature"][t])
    return np.array(params), np.array(steps), np.array(fields)


def trained_model_error(model_path, directory, user, train_mean):
    """Mean squared error (in kelvin²) of the saved model on the validation set, computed here
    from the safetensors file and the example's own network definition."""
    sys.path.insert(0, str(EXAMPLE))
    sys.path.insert(0, str(ROOT / "Sources" / "MelissaDLPython"))
    try:
        import model as example
    finally:
        sys.path.pop(0)
        sys.path.pop(0)
    trainer = example.Heat2dSurrogate({"user": user, "nb_time_steps": STEPS})
    net, _ = trainer.prepare_training_attributes()
    tensors = load_file(str(model_path))
    state = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    net.load_state_dict(state)
    net.eval()
    params, steps, fields = validation_arrays(directory)
    with torch.no_grad():
        x = trainer.inputs(torch.from_numpy(params), torch.from_numpy(steps.astype(np.int64)))
        predicted = trainer.temperatures(net(x)).numpy()
    model_mse = float(np.mean((predicted - fields) ** 2))
    mean_mse = float(np.mean((train_mean[None, :] - fields) ** 2))
    return model_mse, mean_mse


def assert_trainers_gone(study):
    """Every trainer the study's server ranks started (their logs name the pids) has exited."""
    started = []
    for log in study.glob("server.rank*.log"):
        started += [int(m) for m in re.findall(r"trainer started \(pid (\d+)", log.read_text())]
    assert started, "no trainer was started"
    assert wait_for(lambda: not any(os.path.exists(f"/proc/{pid}") and "melissa_dl" in open(f"/proc/{pid}/cmdline").read()
                                    for pid in started), timeout=10), started


def test_offline_mode_runs_every_simulation_streams_nothing_and_retries_faults(tmp_path, prefix):
    # Simulation 3 fails its first attempt (exit 3 before heat2d starts); it must be run again.
    marker = tmp_path / "failed-once"
    fail_once = (f'if [ "$MELISSA_SIMU_ID" = 3 ] && [ ! -e {marker} ]; then touch {marker}; exit 3; fi')
    config = write_config(tmp_path, offline_config(tmp_path, prefix, sims=8, ports=(22423, 26420),
                                                   preprocessing=[fail_once]))
    done = run_launcher(prefix, config, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    study = tmp_path / "validation"
    summary = json.loads((study / "summary.json").read_text())
    assert summary["finished"] == 8 and summary["failed"] == 0, summary
    # crashes_before_redraw is 1: the failed simulation runs again with new parameters.
    assert summary["faults"]["resubmitted"] + summary["faults"]["redrawn"] == 1, summary["faults"]
    assert marker.exists()
    # Nothing was streamed: no data message reached the server.
    assert summary["counters"]["messages"] == 0, summary["counters"]
    # Every simulation ran to its end: its whole field at every step is on disk.
    for sim in range(8):
        dump = study / "dumps" / f"heat2d.sim{sim}.rank0.bin"
        assert dump.stat().st_size == STEPS * NX * NY * 8, dump
    log = (study / "server.rank0.log").read_text()
    assert "offline study: no trainer is started" in log
    assert not list(study.glob("trainer.rank*.log"))


def test_surrogate_trains_data_parallel_below_a_tenth_of_the_mean_fields_error(tmp_path, prefix, validation):
    cfg = surrogate_config(tmp_path, prefix, validation, sims=200, ports=(22443, 26440))
    config = write_config(tmp_path, cfg)
    done = run_launcher(prefix, config, timeout=900)
    study = tmp_path / "study"
    assert done.returncode == 0, done.stdout + done.stderr + (study / "server.rank0.log").read_text()[-3000:]
    summary = json.loads((study / "summary.json").read_text())
    assert summary["finished"] == 200, summary
    training = summary["training"]
    # Data-parallel: both trainers stopped together, after the same number of steps.
    batches = training["batches_per_rank"]
    assert len(batches) == 2 and batches[0] == batches[1] > 0, training
    losses = [entry for entry in training["losses"] if entry["valid_loss"] is not None]
    assert len(losses) >= 2, training["losses"]
    assert losses[-1]["valid_loss"] < losses[0]["valid_loss"], losses
    assert json.loads((study / "results" / "training.json").read_text())["batches_per_rank"] == batches
    # The oracle: the saved model against predicting the training ensemble's mean field.
    model_path = pathlib.Path(training["model"])
    assert model_path == study / "results" / "model.safetensors" and model_path.exists()
    train_mean = validation_arrays(validation)[2].mean(axis=0)
    model_mse, mean_mse = trained_model_error(model_path, validation, cfg["dl_config"]["user"], train_mean)
    assert model_mse < 0.1 * mean_mse, (model_mse, mean_mse)
    assert training["samples_trained"] == sum(training["samples_trained_per_rank"]) > 0, training
    # The HTML report charts both losses.
    report = (study / "report.html").read_text()
    assert "<h2>Training</h2>" in report and "log10 loss" in report and "validation" in report, report[:2000]
    # Each trainer logged its own side; nothing was left running.
    for rank in range(2):
        assert (study / f"trainer.rank{rank}.log").exists()
    assert_trainers_gone(study)


def test_a_rank_whose_buffer_runs_dry_first_does_not_deadlock_the_other(tmp_path, prefix, validation):
    # Every step of a simulation to one rank, 3 simulations on 2 ranks: rank 1 gets one
    # simulation, rank 0 two, so rank 1's FIFO runs dry while rank 0 still has batches.
    cfg = surrogate_config(tmp_path, prefix, validation, sims=3, ports=(22463, 26460),
                           dl={"routing": "simulations", "buffer": "FIFO", "batch_size": 4,
                               "per_server_watermark": 4, "buffer_size": 100, "nb_batches_update": 2})
    config = write_config(tmp_path, cfg)
    done = run_launcher(prefix, config, timeout=300)
    study = tmp_path / "study"
    assert done.returncode == 0, done.stdout + done.stderr + (study / "server.rank0.log").read_text()[-3000:]
    training = json.loads((study / "summary.json").read_text())["training"]
    # FIFO: each rank's buffer served ceil(samples / batch_size) batches, every sample once:
    # rank 0 held 40 samples (10 batches), rank 1 20 (5).
    assert training["batches_served_per_rank"] == [10, 5], training
    assert training["samples_trained_per_rank"] == [40, 20], training
    # Both trainers took every step together; rank 1 added zero gradients once it ran dry, so
    # there were at least rank 0's 10 steps and at most one step per batch.
    batches = training["batches_per_rank"]
    assert batches[0] == batches[1] and 10 <= batches[0] <= 15, training
    assert_trainers_gone(study)


def test_kill_9_of_a_server_rank_mid_training_restarts_from_the_checkpointed_model(tmp_path, prefix, validation):
    cfg = surrogate_config(tmp_path, prefix, validation, sims=60, ports=(22483, 26480),
                           dl={"checkpoint_interval": 2, "nb_batches_update": 10})
    # Slow clients, so training is still going on when the rank is killed.
    cfg["client_config"]["command_default_args"] += ["--substeps", "40000"]
    # The launcher's status endpoint shows the training losses while the study runs.
    token = "e2e-dl-token-0123456789abcdef"
    cfg["launcher_config"].update({"http_port": 20970, "http_token": token})
    config = write_config(tmp_path, cfg)
    study = tmp_path / "study"
    launcher = start(prefix, config)
    try:
        def status():
            request = urllib.request.Request("http://127.0.0.1:20970/status.json")
            request.add_header("Authorization", f"Bearer {token}")
            try:
                with urllib.request.urlopen(request, timeout=5) as reply:
                    return json.loads(reply.read())
            except OSError:
                return {}
        assert wait_for(lambda: (status().get("training") or {}).get("batch", 0) > 0, timeout=120), said(config)
        training = status()["training"]
        assert training["samples"] > 0 and training["train_loss"] > 0 and training["valid_loss"] > 0, training
        assert training["reports"][-1]["batch"] == training["batch"], training
        metrics_request = urllib.request.Request("http://127.0.0.1:20970/metrics")
        metrics_request.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(metrics_request, timeout=5) as reply:
            metrics = reply.read().decode()
        assert "\nmelissa_training_loss " in metrics and "\nmelissa_validation_loss " in metrics, metrics
        # A server checkpoint that names a model (the trainer saved it when asked).
        def checkpointed_model():
            log = study / "server.rank0.log"
            written = re.findall(r"checkpoint (\d+) written", log.read_text()) if log.exists() else []
            return [study / "checkpoints" / f"model-{n}.safetensors" for n in written
                    if (study / "checkpoints" / f"model-{n}.safetensors").exists()]
        # Two of them: whichever one every rank holds when the rank dies names a model.
        assert wait_for(lambda: len(checkpointed_model()) >= 2, timeout=120), said(config)
        tensors = load_file(str(checkpointed_model()[-1]))
        assert any(k.startswith("model.") for k in tensors), list(tensors)
        victims = pids(f"melissa-server {config}")
        assert victims
        os.kill(victims[-1], signal.SIGKILL)
        assert wait_for(lambda: "server restarted (1/" in said(config), timeout=120), said(config)
        launcher.wait(timeout=600)
    finally:
        if launcher.poll() is None:
            launcher.kill()
    assert launcher.returncode == 0, said(config) + (study / "server.rank0.log").read_text()[-3000:]
    log = (study / "server.rank0.log").read_text()
    assert "the trainer resumes from " + str(study / "checkpoints") in log, log[-3000:]
    summary = json.loads((study / "summary.json").read_text())
    assert summary["finished"] == 60 and summary["faults"]["server_restarts"] >= 1, summary
    batches = summary["training"]["batches_per_rank"]
    assert batches[0] == batches[1] > 0
    assert (study / "results" / "model.safetensors").exists()
    assert_trainers_gone(study)


def test_the_benchmark_short_mode_runs_both_sizes(tmp_path, prefix):
    """Benchmarks/deep-learning in its tiny size, so it cannot rot: both sample sizes train in
    a real study and in the ceiling loop. Asserts what ran, never a speed (docs/PERFORMANCE.md)."""
    out = tmp_path / "bench.json"
    done = subprocess.run([sys.executable, str(ROOT / "Benchmarks" / "deep-learning" / "run.py"), "--short",
                           "--prefix", str(prefix), "--work", str(tmp_path / "work"), "--json", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    results = {r["case"]: r for r in json.loads(out.read_text())}
    assert set(results) == {"2KiB", "1MiB"}
    for r in results.values():
        # FIRO with pseudo-epochs: every sample served pseudo_epochs times, in full batches but the last of a pass.
        assert r["batches"] == -(-r["samples"] // r["batch_size"]) * r["pseudo_epochs"], r
        assert r["ours_samples_per_second"] > 0 and r["ceiling_samples_per_second"] > 0, r
        assert r["server_peak_rss_bytes"] > r["buffer_bytes"], r
    assert "ratio" in done.stdout


@pytest.mark.parametrize("fault", ["missing model file", "hook raises"])
def test_a_broken_model_file_fails_the_study_with_an_error_naming_it(tmp_path, prefix, validation, fault):
    model = tmp_path / "broken_model.py"
    if fault == "hook raises":
        # The example's network, but training_step divides by zero at the third batch.
        model.write_text((EXAMPLE / "model.py").read_text() + '''

class Broken(Heat2dSurrogate):
    def training_step(self, batch, batch_idx):
        if batch_idx == 2:
            raise ZeroDivisionError("the user's hook failed at batch 2")
        return super().training_step(batch, batch_idx)
''')
    cfg = surrogate_config(tmp_path, prefix, validation, sims=4, ports=(22503, 26500),
                           dl={"model_file": str(model), "buffer": "FIFO", "batch_size": 4, "per_server_watermark": 4})
    cfg["launcher_config"]["max_server_restarts"] = 0
    done = run_launcher(prefix, write_config(tmp_path, cfg), timeout=240)
    said = done.stdout + done.stderr
    assert done.returncode != 0, said
    if fault == "missing model file":
        assert f"dl_config.model_file: cannot read '{model}'" in said, said
    else:
        assert "the user's hook failed at batch 2" in said and "trainer.rank" in said, said
    assert_trainers_gone(tmp_path / "study") if fault == "hook raises" else None


def test_killed_clients_are_rerun_and_no_sample_is_trained_twice(tmp_path, prefix, validation):
    """Clients killed with SIGKILL mid-stream run again with the same parameters; the steps the
    first attempt delivered are refused as duplicates, so every sample reaches a buffer once:
    FIFO serves exactly ceil(samples / batch_size) batches per rank and trains each sample once."""
    from test_faults import Killer
    sims, batch = 8, 4
    cfg = surrogate_config(tmp_path, prefix, validation, sims=sims, ports=(22523, 26520),
                           dl={"buffer": "FIFO", "batch_size": batch, "per_server_watermark": batch,
                               "buffer_size": 400})
    cfg["study_options"].update({"crashes_before_redraw": 100, "simulation_timeout": 30})
    cfg["launcher_config"]["fault_tolerance"] = True
    # About a second per run, so the killer (0.2-0.9 s after a run starts) lands mid-stream.
    cfg["client_config"]["command_default_args"] += ["--substeps", "150000"]
    study = tmp_path / "study"
    victims = [1, 4, 6]
    killer = Killer(study, victims, seed=11)
    killer.start()
    done = run_launcher(prefix, write_config(tmp_path, cfg), timeout=600)
    killer.stop.set()
    killer.join()
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(killer.killed) >= 2 and set(killer.killed) <= set(victims), killer.killed
    summary = json.loads((study / "summary.json").read_text())
    # A kill after the last step costs no rerun; the others resent steps that had arrived.
    assert summary["finished"] == sims and summary["faults"]["resubmitted"] >= 1, summary
    assert summary["counters"]["duplicates"] > 0, summary["counters"]
    training = summary["training"]
    per_rank = sims * STEPS // 2  # steps t to rank t mod 2: 10 of the 20 steps of each simulation
    assert training["samples_trained_per_rank"] == [per_rank, per_rank], (training, summary["counters"])
    assert training["batches_served_per_rank"] == [-(-per_rank // batch)] * 2, training
