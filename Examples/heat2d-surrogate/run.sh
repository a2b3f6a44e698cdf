#!/usr/bin/env bash
# The heat2d surrogate, end to end: the offline study that makes the validation set, its
# conversion to .npz, then the online training study. Needs the install in <repo>/build
# (Scripts/build.sh) and PyTorch in <repo>/.venv (Scripts/install-deps.sh torch).
# Results: studies/heat2d-surrogate/results/model.safetensors and training.json.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/Scripts/mpi-env.sh"
validation="$root/studies/heat2d-surrogate-validation"
"$root/build/bin/melissa-launcher" "$root/Config/heat2d-surrogate-validation.json"
"$root/.venv/bin/python" "$root/Examples/heat2d-surrogate/make_validation_set.py" \
  "$validation" "$validation/dumps" "$validation/npz" --steps 20 --cells 256
"$root/build/bin/melissa-launcher" "$root/Config/heat2d-surrogate.json"
"$root/.venv/bin/python" - "$root/studies/heat2d-surrogate/results/training.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
valid = [r["valid_loss"] for r in t["losses"] if r["valid_loss"] is not None]
print(f"heat2d-surrogate: {t['batches_per_rank'][0]} steps on {len(t['batches_per_rank'])} ranks, "
      f"{t['samples_trained']} samples trained; validation loss {valid[0]:.3g} -> {valid[-1]:.3g}; "
      f"model {t['model']}")
PY
