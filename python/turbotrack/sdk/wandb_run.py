"""``wandb.sdk.wandb_run``: where wandb keeps its ``Run`` class (here :class:`turbotrack.Run`)."""

from .._run import Run

__all__ = ["Run"]
