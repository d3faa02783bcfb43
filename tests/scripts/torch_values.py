"""Torch values in log() and the summary, and watch() on a real model. Prints the run path."""

import sys

import torch

import turbotrack

run = turbotrack.init(dir=sys.argv[1], project="torch", settings={"capture_stdout": False, "capture_system": False})
model = torch.nn.Linear(4, 3)
turbotrack.watch(model, log="all", log_freq=2)
for _ in range(4):
    out = model(torch.randn(5, 4)).pow(2).mean()
    out.backward()
    run.log({"loss": out.detach(), "scalar_int": torch.tensor(3), "acts": torch.randn(100)})
run.summary["weights"] = model.weight.detach()
print(run.path)
run.finish()
