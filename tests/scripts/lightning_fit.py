"""A tiny Lightning fit with WandbLogger (watch, log_hyperparams, log_table, log_image, log_model="all");
run by tests/test_frameworks.py under `turbotrack run`. Usage: python lightning_fit.py OUTPUT_DIR. Writes
the values it logged to OUTPUT_DIR/logged.json for the test to compare."""

import json
import sys

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import WandbLogger

out = sys.argv[1]
L.seed_everything(0)
logged = {"train/loss": [], "val/loss": []}


class Net(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, i):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self(x), y)
        self.log("train/loss", loss)
        logged["train/loss"].append((self.global_step, loss.item()))
        return loss

    def validation_step(self, batch, i):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self(x), y)
        self.log("val/loss", loss)
        logged["val/loss"].append((self.global_step, loss.item()))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.05)


g = torch.Generator().manual_seed(0)
x = torch.randn(64, 4, generator=g)
y = x.sum(dim=1, keepdim=True)
train = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=8)
val = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x[:16], y[:16]), batch_size=8)

model = Net()
logger = WandbLogger(project="pl", name="pl-tiny", save_dir=out, log_model="all")
logger.watch(model, log="all", log_freq=4)
logger.log_hyperparams({"lr": 0.05, "hidden": 8})
checkpoints = ModelCheckpoint(dirpath=f"{out}/ckpt", save_top_k=-1)
trainer = L.Trainer(
    max_epochs=2,
    logger=logger,
    callbacks=[checkpoints],
    log_every_n_steps=2,
    accelerator="cpu",
    enable_progress_bar=False,
    enable_model_summary=False,
)
trainer.fit(model, train, val)
preds = model.net(x[:3]).detach().numpy().ravel().tolist()
logger.log_table(key="preds", columns=["x0", "pred"], data=[[float(x[i, 0]), preds[i]] for i in range(3)])
images = [np.full((4, 4), 255.0 * i / 2) for i in range(3)]  # integer-valued floats in 0-255
logger.log_image(key="samples", images=images, caption=["a", "b", "c"])
logger.experiment.unwatch(model)
logged["preds"] = preds
with open(f"{out}/logged.json", "w") as fh:
    json.dump(logged, fh)
