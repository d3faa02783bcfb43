"""wandb.apis.public, served by turbotrack."""

from turbotrack import Api
from turbotrack.api.local import LocalRun as Run
from turbotrack.artifacts import Artifact

__all__ = ["Api", "Artifact", "Run"]
