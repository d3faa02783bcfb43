"""Every case of the differential suite, gathered from the modules beside this one (one per theme)."""

from __future__ import annotations

from differential.cases import api, config, env, init, log, media, metric, misc, runs, step, summary
from differential.harness import Case

ALL: list[Case] = [
    *init.CASES,
    *env.CASES,
    *log.CASES,
    *step.CASES,
    *config.CASES,
    *summary.CASES,
    *metric.CASES,
    *media.CASES,
    *misc.CASES,
    *runs.CASES,
    *api.CASES,
]
