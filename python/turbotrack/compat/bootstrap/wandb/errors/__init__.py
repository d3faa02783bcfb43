"""wandb.errors, served by turbotrack."""

from turbotrack.compat.errors import *  # noqa: F403
from turbotrack.compat.errors import __all__  # noqa: F401
