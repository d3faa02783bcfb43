"""``wandb.apis.public``: ``Api``, ``Run`` (a run read back) and ``Artifact``."""

from ..api import Api
from ..artifacts import Artifact
from ..store.local import LocalRun as Run

__all__ = ["Api", "Artifact", "Run"]
