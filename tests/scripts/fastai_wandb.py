"""A tiny fastai Learner with fastai's WandbCallback (its losses are fastai ``TensorBase`` values); run by
tests/test_frameworks.py with the real wandb and with turbotrack. Usage: python fastai_wandb.py OUTPUT_DIR."""

import torch
import wandb
from fastai.callback.wandb import WandbCallback
from fastai.data.core import DataLoaders
from fastai.data.load import DataLoader
from fastai.learner import Learner
from fastai.losses import MSELossFlat
from fastai.metrics import mae
from fastai.torch_core import set_seed

set_seed(0)


class Data:
    """n synthetic regression samples (x, x·w), made from a seed."""

    def __init__(self, n, seed):
        self.n, self.seed = n, seed
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randn(n, 3, generator=g)
        self.y = self.x @ torch.tensor([[1.0], [-2.0], [0.5]])

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return self.x[i], self.y[i]


dls = DataLoaders(DataLoader(Data(32, 0), bs=8), DataLoader(Data(16, 1), bs=8), device="cpu")

wandb.init(project="fa", name="fa-tiny")
learn = Learner(dls, torch.nn.Linear(3, 1), loss_func=MSELossFlat(), metrics=[mae], cbs=WandbCallback(log_preds=False))
with learn.no_bar(), learn.no_logging():
    learn.fit(2, lr=0.05)
wandb.finish()
