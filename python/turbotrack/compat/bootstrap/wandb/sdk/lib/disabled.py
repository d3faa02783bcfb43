"""wandb.sdk.lib.disabled, served by turbotrack."""

from turbotrack._run import DisabledRun as RunDisabled

__all__ = ["RunDisabled"]
