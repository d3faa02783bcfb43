"""A tiny pytorch-ignite training with ignite's WandBLogger (output handler per iteration and per
evaluation, optimizer params); run by tests/test_frameworks.py with the real wandb and with turbotrack.
Usage: python ignite_wandb.py OUTPUT_DIR."""

import torch
from ignite.engine import Events, create_supervised_evaluator, create_supervised_trainer
from ignite.handlers.wandb_logger import WandBLogger
from ignite.metrics import Loss, MeanAbsoluteError

torch.manual_seed(0)
g = torch.Generator().manual_seed(0)
x = torch.randn(48, 3, generator=g)
y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
train = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=8)
val = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x[:16], y[:16]), batch_size=8)
model = torch.nn.Linear(3, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
loss_fn = torch.nn.MSELoss()
trainer = create_supervised_trainer(model, optimizer, loss_fn)
evaluator = create_supervised_evaluator(model, metrics={"mse": Loss(loss_fn), "mae": MeanAbsoluteError()})
trainer.add_event_handler(Events.EPOCH_COMPLETED, lambda engine: evaluator.run(val))

wandb_logger = WandBLogger(project="ig", name="ig-tiny", config={"lr": 0.05, "batch_size": 8})
wandb_logger.attach_output_handler(
    trainer, event_name=Events.ITERATION_COMPLETED, tag="training", output_transform=lambda loss: {"loss": loss}
)
wandb_logger.attach_output_handler(
    evaluator,
    event_name=Events.EPOCH_COMPLETED,
    tag="validation",
    metric_names=["mse", "mae"],
    global_step_transform=lambda *_: trainer.state.iteration,
)
wandb_logger.attach_opt_params_handler(trainer, event_name=Events.ITERATION_STARTED, optimizer=optimizer)
trainer.run(train, max_epochs=2)
wandb_logger.close()
