"""``wandb.apis``: ``PublicApi`` and ``public`` (reading runs back: :class:`turbotrack.Api`)."""

from ..api import Api as PublicApi
from . import public

__all__ = ["PublicApi", "public"]
