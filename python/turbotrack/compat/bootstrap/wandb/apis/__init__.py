"""wandb.apis, served by turbotrack."""

from turbotrack import Api as PublicApi

from . import public

__all__ = ["PublicApi", "public"]
