"""wandb.util, served by turbotrack: the helpers scripts call."""

from turbotrack._run import generate_id
from turbotrack.compat.api import json_dumps_safer

__all__ = ["generate_id", "json_dumps_safer"]
