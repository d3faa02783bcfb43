"""A tiny accelerate loop logging with log_with="wandb" (log, log_images, config); run by
tests/test_frameworks.py under `turbotrack run`. Usage: python accelerate_loop.py OUTPUT_DIR. Writes the
values it logged to OUTPUT_DIR/logged.json for the test to compare."""

import json
import sys

import numpy as np
import torch
from accelerate import Accelerator

out = sys.argv[1]
torch.manual_seed(0)
accelerator = Accelerator(log_with="wandb", cpu=True)
accelerator.init_trackers("acc", config={"lr": 0.1, "steps": 12}, init_kwargs={"wandb": {"name": "acc-tiny"}})
model = torch.nn.Linear(3, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
model, opt = accelerator.prepare(model, opt)
x = torch.randn(32, 3)
y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
logged = []
for step in range(12):
    loss = torch.nn.functional.mse_loss(model(x), y)
    accelerator.backward(loss)
    opt.step()
    opt.zero_grad()
    accelerator.log({"loss": loss.item()}, step=step)
    logged.append(loss.item())
tracker = accelerator.get_tracker("wandb", unwrap=False)
tracker.log_images({"inputs": [np.zeros((4, 4, 3)), np.ones((4, 4, 3))]}, step=12)
accelerator.end_training()
with open(f"{out}/logged.json", "w") as fh:
    json.dump(logged, fh)
