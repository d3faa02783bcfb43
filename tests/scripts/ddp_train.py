"""A real DDP training loop (gloo, CPU) where every rank logs into one shared turbotrack run.
Run under torchrun: python -m torch.distributed.run --standalone --nproc_per_node 4 ddp_train.py DIR RUN_ID STEPS"""

import sys
import time

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

import turbotrack

root, run_id, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
dist.init_process_group("gloo")
rank = dist.get_rank()
torch.manual_seed(rank)
model = DDP(torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1)))
opt = torch.optim.SGD(model.parameters(), lr=0.05)
w_true = torch.arange(8, dtype=torch.float32) / 8
run = turbotrack.init(
    dir=root,
    project="torchrun",
    id=run_id,
    config={"lr": 0.05},
    settings={
        "shared": True,
        "system_interval": 0.2,
        "capture_stdout": False,
        "capture_git": False,
        "capture_requirements": False,
    },
)
for step in range(steps):
    x = torch.randn(32, 8)
    y = (x @ w_true).unsqueeze(1)
    loss = torch.nn.functional.mse_loss(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    run.log({"loss": loss.detach(), "step_seen": step})  # a 0-d tensor is a scalar
time.sleep(0.6)  # at least one system sample per rank
if rank == 0:
    run.summary["final_weight"] = model.module[0].weight.detach()
run.finish()
dist.destroy_process_group()
