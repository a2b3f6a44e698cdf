"""heat2d surrogate: an MLP from (T_initial, T_boundary, t) to the whole temperature field.

Trained online by the deep-learning flavor (Config/heat2d-surrogate.json): each server rank
runs this file's trainer on the samples heat2d streams, a sample being one time step of one
simulation. The heat equation is linear, T = T_b + (T_i - T_b) g(x, y, t), so a small MLP
learns it well from a few hundred simulations.

`user` settings (dl_config.user): `cells` (nx * ny, required), `hidden` (width, 128), `lr`
(Adam's learning rate, 1e-3), `l_bounds`/`u_bounds` (the study's parameter bounds, for
scaling the inputs), `t_scale` (temperature scale of the outputs, 500).
"""
import torch

from melissa_dl import TorchTrainer


class Heat2dSurrogate(TorchTrainer):
    def prepare_training_attributes(self):
        cells = int(self.user["cells"])
        hidden = int(self.user.get("hidden", 128))
        model = torch.nn.Sequential(
            torch.nn.Linear(3, hidden), torch.nn.Tanh(),
            torch.nn.Linear(hidden, hidden), torch.nn.Tanh(),
            torch.nn.Linear(hidden, cells))
        optimizer = torch.optim.Adam(model.parameters(), lr=float(self.user.get("lr", 1e-3)))
        return model, optimizer

    def inputs(self, parameters, time_steps):
        """(b, 2) parameters and (b,) steps as the network's (b, 3) input, each within [0, 1]."""
        low = torch.tensor(self.user.get("l_bounds", [0.0, 0.0]), dtype=torch.float64)
        high = torch.tensor(self.user.get("u_bounds", [1.0, 1.0]), dtype=torch.float64)
        scaled = (parameters - low) / (high - low)
        t = time_steps.to(torch.float64).reshape(-1, 1) / max(1, int(self.nb_time_steps) - 1)
        return torch.cat([scaled, t], dim=1).to(torch.float32)

    def outputs(self, temperature):
        """Temperatures scaled to about [-1, 1]; `temperatures()` undoes it."""
        scale = float(self.user.get("t_scale", 500.0))
        return ((temperature - scale / 2) / (scale / 2)).to(torch.float32)

    def temperatures(self, outputs):
        scale = float(self.user.get("t_scale", 500.0))
        return outputs.to(torch.float64) * (scale / 2) + scale / 2

    def process_batch(self, batch):
        # Vectorised: the batch's arrays are views on the received frames, converted once.
        steps = torch.from_numpy(batch.time_steps.astype("int64"))
        return self.inputs(batch.parameters, steps), self.outputs(batch.fields["temperature"])

    def process_simulation_data(self, sample):
        # Melissa's per-sample hook; process_batch above does the same for a whole batch.
        x = self.inputs(sample.parameters.reshape(1, -1), torch.tensor([sample.time_step]))
        return x[0], self.outputs(sample.data["temperature"])
