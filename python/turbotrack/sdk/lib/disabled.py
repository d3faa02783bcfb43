"""``wandb.sdk.lib.disabled``: the disabled run's class (:class:`turbotrack.DisabledRun`)."""

from ..._disabled import DisabledRun as RunDisabled

__all__ = ["RunDisabled"]
