"""The capture helper process's program (capture/helper.py), run as ``python -I -S`` (no site,
nothing from the environment, not even this folder on ``sys.path``).

It drops to the lowest priority first, then takes the parent's ``sys.path`` from the job on
stdin, and makes the packages ``turbotrack`` and ``turbotrack.capture`` without running their
``__init__``: the helper needs a few of capture's modules, not the native core, NumPy, the console
tee or the public API."""

import json
import os
import sys
import types

try:  # the helper yields its core to the training: never real-time (Linux), the lowest priority
    if os.sched_getscheduler(0) != os.SCHED_OTHER:
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
except (AttributeError, OSError):
    pass
try:
    os.nice(19)
except (AttributeError, OSError):
    pass

job = json.loads(sys.stdin.readline())
sys.path[:] = job["path"]
for name, where in (("turbotrack", job["package"]), ("turbotrack.capture", os.path.join(job["package"], "capture"))):
    module = types.ModuleType(name)
    module.__path__ = [where]
    sys.modules[name] = module

from turbotrack.capture.helper import helper_main  # noqa: E402

helper_main(job)
