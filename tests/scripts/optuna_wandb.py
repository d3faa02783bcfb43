"""A tiny optuna study with optuna-integration's WeightsAndBiasesCallback (one run for the study);
run by tests/test_frameworks.py with the real wandb and with turbotrack.
Usage: python optuna_wandb.py OUTPUT_DIR."""

import optuna
import wandb
from optuna_integration.wandb import WeightsAndBiasesCallback

optuna.logging.set_verbosity(optuna.logging.WARNING)


def objective(trial):
    x = trial.suggest_float("x", -10, 10)
    kind = trial.suggest_categorical("kind", ["a", "b"])
    return (x - 2) ** 2 + (1.0 if kind == "a" else 0.0)


callback = WeightsAndBiasesCallback(metric_name="loss", wandb_kwargs={"project": "opt", "name": "opt-tiny"})
study = optuna.create_study(study_name="tiny", sampler=optuna.samplers.TPESampler(seed=0))
study.optimize(objective, n_trials=6, callbacks=[callback])
wandb.run.summary["best_value"] = study.best_value
wandb.finish()
