"""``turbotrack.util`` (``wandb.util``): the helpers scripts call."""

from __future__ import annotations

import json
import random
import string
from typing import Any


def generate_id(length: int = 8) -> str:
    """A random run id: ``length`` lowercase letters and digits (as ``wandb.util.generate_id``)."""
    alphabet = string.ascii_lowercase + string.digits
    return "".join(random.SystemRandom().choice(alphabet) for _ in range(length))


def json_dumps_safer(obj: Any, **kwargs: Any) -> str:
    """JSON text of ``obj`` where values JSON lacks become strings (``wandb.util.json_dumps_safer``)."""
    return json.dumps(obj, default=str, **kwargs)


__all__ = ["generate_id", "json_dumps_safer"]
