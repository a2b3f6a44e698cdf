"""End to end: the launcher's live status endpoint (launcher_config.http_port) during a real
study: the JSON reflects the study, every endpoint refuses requests without the token, the
Prometheus text parses, and the page renders in headless Chromium (when installed)."""
import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import base_config, write_config

TOKEN = "e2e-token-0123456789abcdef"


def get(url, token=TOKEN, header=True):
    request = urllib.request.Request(url)
    if token and header:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_status_endpoint_follows_the_study_and_needs_the_token(tmp_path, prefix):
    sims = 4
    cfg = base_config(tmp_path, sims=sims, steps=20, executable=prefix / "bin" / "heat2d",
                      args=["--steps", 20, "--nx", 24, "--ny", 15, "--substeps", 20000],
                      job_limit=2, ports=(20803, 20900))
    cfg["launcher_config"].update({"http_port": 20950, "http_token": TOKEN})
    config = write_config(tmp_path, cfg)
    launcher = subprocess.Popen([str(prefix / "bin" / "melissa-launcher"), str(config)], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL)
    base = "http://127.0.0.1:20950/"
    seen = []
    refused = {}
    page = None
    rendered = False
    metrics = None
    try:
        deadline = time.time() + 120
        while time.time() < deadline and launcher.poll() is None:
            try:
                status, body = get(base + "status.json")
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
                continue
            if status == 200:
                seen.append(json.loads(body))
                if not refused:
                    for path in ("", "status.json", "metrics", "no-such-page"):
                        refused[path] = (get(base + path, token=None)[0], get(base + path, token="wrong-token-0123456789")[0])
                    page = get(base + "?token=" + TOKEN, header=False)
                if not rendered and seen[-1]["jobs"]:
                    # Once there are jobs: the page, rendered by a browser, shows them.
                    rendered = screenshot_page(base + "?token=" + TOKEN, tmp_path)
                    metrics = get(base + "metrics")
            time.sleep(0.3)
        out, _ = launcher.communicate(timeout=60)
    finally:
        if launcher.poll() is None:
            launcher.kill()
    assert launcher.returncode == 0, out
    assert "study status at http://127.0.0.1:20950/" in out, out
    assert seen, "the status endpoint never answered"
    # Without the token, or with a wrong one, every path answers 401.
    assert refused and all(codes == (401, 401) for codes in refused.values()), refused
    status, html = page
    assert status == 200 and "<html" in html.lower() and str(tmp_path / "study") in html

    first, last = seen[0], seen[-1]
    assert first["study"] == str(tmp_path / "study") and first["scheduler"] == "openmpi"
    assert last["simulations"]["total"] == sims
    finished = [s["simulations"]["finished"] for s in seen]
    assert finished == sorted(finished), "finished never goes down"
    assert max(finished) >= 1, finished
    assert any(s["simulations"]["running"] > 0 for s in seen)
    assert any(s["bytes_received"] > 0 for s in seen)
    assert any(s["server"]["ranks"] == 2 and s["server"]["state"] == "running" for s in seen)
    groups = {row["group"]: row for row in last["jobs"]}
    assert groups and all(row["batch_job"].startswith("openmpi job") for row in groups.values()), groups
    assert any(row["state"] == "terminated" for row in groups.values())

    assert rendered and metrics, "no job ever showed on the status page"
    code, text = metrics
    assert code == 200
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    assert samples['melissa_simulations_total'] == sims, samples
    assert 'melissa_simulations{state="finished"}' in samples and "melissa_bytes_received_total" in samples


def screenshot_page(url, tmp_path):
    """Renders the page in headless Chromium: its DOM after the scripts ran, and a PNG kept
    in $MELISSA_SCREENSHOT_DIR (for a person to look at) when that is set."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if os.environ.get("MELISSA_SKIP_BROWSER") == "1":
        return True
    assert chromium, "headless Chromium is needed to render the status page (Scripts/test.sh installs it; MELISSA_SKIP_BROWSER=1 skips)"
    flags = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,1000",
             "--virtual-time-budget=4000"]
    dom = subprocess.run(flags + ["--dump-dom", url], capture_output=True, text=True, timeout=60).stdout
    # The job table is filled by the page's script from status.json: rows mean it ran.
    assert "<table" in dom and "openmpi job" in dom, dom[:2000]
    assert "job-table" in dom or "<td" in dom
    shots = os.environ.get("MELISSA_SCREENSHOT_DIR")
    if shots:
        os.makedirs(shots, exist_ok=True)
        subprocess.run(flags + [f"--screenshot={os.path.join(shots, 'status-page.png')}", url],
                       capture_output=True, timeout=60)
    return True
