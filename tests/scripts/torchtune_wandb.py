"""torchtune's WandBLogger on its own (log, log_dict, log_config), left alive until interpreter exit (its
``__del__`` reads ``wandb.run`` then); run by tests/test_frameworks.py with the real wandb and with turbotrack.
Usage: python torchtune_wandb.py OUTPUT_DIR."""

import sys

from omegaconf import OmegaConf
from torchtune.training.metric_logging import WandBLogger

out = sys.argv[1]  # the working directory too
logger = WandBLogger(project="tt", name="tt-tiny", log_dir=out)
logger.log_config(OmegaConf.create({"output_dir": ".", "lr": 3e-4, "model": {"dim": 16, "layers": 2}}))
for step in range(1, 6):
    logger.log("loss", 1.0 / step, step)
    logger.log_dict({"lr": 3e-4 * step, "tokens_per_second": 100.0 * step}, step)
logger.close()
# the logger stays referenced by this module: its __del__ runs during interpreter shutdown
