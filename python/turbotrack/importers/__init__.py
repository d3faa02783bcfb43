"""Moving in from other trackers: ``turbotrack import wandb`` and ``turbotrack import tensorboard``."""
