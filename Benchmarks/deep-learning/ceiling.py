"""The ceiling of the deep-learning benchmark: the same model and hooks (model.py, through
melissa_dl's own Batch type) trained by a plain PyTorch loop over tensors already in memory,
batches sliced from them (views, no copies), random order per pass, as many batches as the
study's trainer ran. Prints one JSON line: samples, seconds, samples_per_second.

Usage: python ceiling.py <model.py> <cells> <samples> <batch_size> <batches> <nb_time_steps>
"""
import importlib.util
import json
import sys
import time

import numpy as np
import torch

from melissa_dl.protocol import Batch


def main():
    path, cells, samples, batch_size, batches, steps = sys.argv[1], *map(int, sys.argv[2:7])
    spec = importlib.util.spec_from_file_location("bench_model", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = {"user": {"cells": cells}, "nb_time_steps": steps, "seed": 0}
    trainer = module.BenchModel(config)
    torch.manual_seed(0)
    model, optimizer = trainer.prepare_training_attributes()
    trainer.model = trainer.module = model
    rng = np.random.default_rng(0)
    parameters = torch.from_numpy(rng.random((samples, 2)))
    fields = torch.from_numpy(rng.random((samples, cells)))
    sims = np.arange(samples, dtype=np.uint32)
    times = (np.arange(samples) % steps).astype(np.uint32)
    done, start = 0, None
    order = np.arange(samples)
    while done < batches:
        rng.shuffle(order)
        for first in range(0, samples, batch_size):
            if done == batches:
                break
            if done == 1:
                start = time.perf_counter()  # the first batch warms up (lazy imports, allocation)
            idx = torch.from_numpy(order[first:first + batch_size])
            batch = Batch(done, sims[idx.numpy()], times[idx.numpy()], parameters[idx], {"f0": fields[idx]})
            loss = trainer.training_step(trainer.process_batch(batch), done)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            done += 1
    seconds = time.perf_counter() - start
    trained = (batches - 1) * batch_size
    print(json.dumps({"samples": trained, "seconds": seconds, "samples_per_second": trained / seconds}))


if __name__ == "__main__":
    main()
