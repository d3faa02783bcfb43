"""A tiny skorch regressor with skorch's WandbLogger; run by tests/test_frameworks.py with the real wandb
and with turbotrack. Usage: python skorch_wandb.py OUTPUT_DIR."""

import numpy as np
import torch
import wandb
from skorch import NeuralNetRegressor
from skorch.callbacks import WandbLogger
from skorch.dataset import ValidSplit

torch.manual_seed(0)
rng = np.random.default_rng(0)
X = rng.normal(size=(40, 3)).astype(np.float32)
y = (X @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32)).astype(np.float32)

run = wandb.init(project="sk", name="sk-tiny")
net = NeuralNetRegressor(
    torch.nn.Linear,
    module__in_features=3,
    module__out_features=1,
    max_epochs=3,
    lr=0.05,
    batch_size=8,
    train_split=ValidSplit(4),
    callbacks=[WandbLogger(run, save_model=False)],
    iterator_train__shuffle=False,
    verbose=0,
)
net.fit(X, y)
run.finish()
