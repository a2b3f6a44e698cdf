"""The benchmark's model: (p0, p1, t) -> the whole field, one hidden layer. The same class
runs in the study's trainer and in the in-memory ceiling loop (ceiling.py)."""
import torch

from melissa_dl import TorchTrainer


class BenchModel(TorchTrainer):
    def prepare_training_attributes(self):
        cells = int(self.user["cells"])
        model = torch.nn.Sequential(torch.nn.Linear(3, 64), torch.nn.Tanh(), torch.nn.Linear(64, cells))
        return model, torch.optim.Adam(model.parameters(), lr=1e-3)

    def process_batch(self, batch):
        t = torch.from_numpy(batch.time_steps.astype("float64")).reshape(-1, 1)
        x = torch.cat([batch.parameters, t], dim=1).float()
        return x, batch.fields["f0"].float()
