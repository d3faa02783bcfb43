"""``wandb.sdk.wandb_settings``: where wandb keeps its ``Settings`` class (here :class:`turbotrack.Settings`)."""

from ..settings import Settings

__all__ = ["Settings"]
