"""wandb.apis.public, served by turbotrack."""

from turbotrack import Api
from turbotrack.artifacts import Artifact
from turbotrack.store.local import LocalRun as Run

__all__ = ["Api", "Artifact", "Run"]
