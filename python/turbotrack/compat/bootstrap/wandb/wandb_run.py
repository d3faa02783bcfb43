"""wandb.wandb_run, served by turbotrack."""

from turbotrack._run import Run

__all__ = ["Run"]
