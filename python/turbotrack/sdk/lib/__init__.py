"""``wandb.sdk.lib``: the names frameworks import from it (``RunDisabled``, as PyTorch Lightning does)."""

from ..._disabled import DisabledRun as RunDisabled
from . import config_util, disabled

__all__ = ["RunDisabled", "config_util", "disabled"]
