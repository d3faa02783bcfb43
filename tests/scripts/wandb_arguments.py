"""Calls with every value of define_metric(overwrite=), config.update(allow_val_change=) and save(policy=)
that wandb 0.31 treats differently, run with the real wandb and with turbotrack as wandb. What each call did
(its result, or the kind of error it raised) is printed as one ``RESULTS`` line of JSON, compared by
tests/test_run_arguments.py; the run's config and summary are compared by the oracle."""

import json
import os
import pathlib
import sys

import wandb

results = {}


def attempt(label, fn):
    try:
        value = fn()
        results[label] = ["ok", value]
    except Exception as e:  # the kind of error a script would catch
        name = type(e).__name__
        if name not in ("ConfigError", "UsageError"):
            name = "Error" if isinstance(e, wandb.Error) else name
        results[label] = ["refused", name]


folder = pathlib.Path(sys.argv[1])
os.chdir(folder)
run = wandb.init(project="arguments", name="arguments", config={"lr": 0.1})

# define_metric: a second definition merges into the first unless overwrite=True
run.define_metric("a", summary="min")
run.define_metric("a", summary="max")
run.define_metric("b", summary="min")
run.define_metric("b", summary="max", overwrite=True)
run.define_metric("c", summary="min")
run.define_metric("c", summary="max", overwrite=False)
run.define_metric("e", summary="min")
run.define_metric("e", hidden=True)
attempt("overwrite_str", lambda: run.define_metric("x", overwrite="yes") and None)
attempt("overwrite_int", lambda: run.define_metric("x", overwrite=1) and None)
attempt("hidden_str", lambda: run.define_metric("x", hidden="no") and None)
attempt("summary_bad", lambda: run.define_metric("x", summary="sometimes") and None)
attempt("name_bad_glob", lambda: run.define_metric("a*b") and None)
for v in (3, 1, 2):
    run.log({"a": v, "b": v, "c": v, "e": v})

# config: an existing key takes another value only with a truthy allow_val_change
for label, kwargs in (
    ("update", {}),
    ("update_false", {"allow_val_change": False}),
    ("update_none", {"allow_val_change": None}),
):
    attempt(label, lambda kwargs=kwargs: run.config.update({"lr": 0.2}, **kwargs))
attempt("update_true", lambda: run.config.update({"lr": 0.3}, allow_val_change=True))
attempt("update_truthy", lambda: run.config.update({"lr": 0.4}, allow_val_change=1))
attempt("update_same", lambda: run.config.update({"lr": 0.4}))
attempt("update_new_key", lambda: run.config.update({"wd": 0.01}))
attempt("setattr", lambda: setattr(run.config, "lr", 0.5))
attempt("setitem", lambda: run.config.__setitem__("lr", 0.6))
attempt("dashes", lambda: run.config.update({"--depth": 3, "-w-": 1}))
attempt("dashes_change", lambda: run.config.update({"depth": 4}))
attempt("setdefaults", lambda: run.config.setdefaults({"lr": 9, "momentum": 0.9}))
results["lr"] = run.config.lr

# save: each policy; a bad one; the paths returned (relative to the run's files folder)
for policy in ("live", "now", "end"):
    pathlib.Path(f"{policy}.txt").write_text("v1")
    attempt(
        f"save_{policy}", lambda policy=policy: [pathlib.Path(p).name for p in run.save(f"{policy}.txt", policy=policy)]
    )
for bad in ("LIVE", "sometimes", None):
    attempt(f"save_policy_{bad}", lambda bad=bad: run.save("now.txt", policy=bad))
(folder / "lit[1].txt").write_text("x")
attempt("save_literal", lambda: [pathlib.Path(p).name for p in run.save("lit[1].txt", glob=False)])
(folder / "absdir").mkdir()
(folder / "absdir" / "abs.txt").write_text("x")
attempt("save_absolute", lambda: [p.split("files" + os.sep)[-1] for p in run.save(str(folder / "absdir" / "abs.txt"))])
run.finish()
attempt("save_after_finish", lambda: run.save("now.txt"))
print("RESULTS " + json.dumps(results, sort_keys=True))
