"""Artifacts, alert, save, and the module names scripts touch (errors, util, term*, AlertLevel)."""

from __future__ import annotations

from differential.harness import case, shows

KEPT = "wandb 0.31 removed wandb.util.generate_id; the CONTRACT keeps it, for the scripts that still call it"

CASES = [
    case(
        "artifact_log_file",
        """
        import wandb
        run = wandb.init(project="diff")
        with open("weights.txt", "w") as f:
            f.write("0.1 0.2")
        artifact = wandb.Artifact("model-weights", type="model", metadata={"epoch": 3})
        artifact.add_file("weights.txt")
        run.log_artifact(artifact)
        show("name", artifact.name.split(":")[0])
        show("type", artifact.type)
        """,
    ),
    case(
        "artifact_add_dir",
        """
        import os
        import wandb
        os.makedirs("data", exist_ok=True)
        for i in range(2):
            with open(f"data/part{i}.csv", "w") as f:
                f.write("a,b\\n1,2\\n")
        run = wandb.init(project="diff", job_type="dataset")
        art = wandb.Artifact("dataset", type="dataset")
        art.add_dir("data")
        run.log_artifact(art)
        """,
    ),
    case(
        "artifact_log_path_shorthand",
        """
        import wandb
        run = wandb.init(project="diff")
        with open("preds.json", "w") as f:
            f.write("[1, 2]")
        run.log_artifact("preds.json", name="predictions", type="result")
        """,
    ),
    case(
        "alert_with_level",
        """
        import wandb
        run = wandb.init(project="diff")
        wandb.alert(title="Low accuracy", text="Accuracy 0.1 is below 0.5", level=wandb.AlertLevel.WARN)
        run.log({"acc": 0.1})
        """,
    ),
    case(
        "save_file",
        """
        import wandb
        run = wandb.init(project="diff")
        with open("model.ckpt", "w") as f:
            f.write("weights")
        wandb.save("model.ckpt")
        run.log({"loss": 1.0})
        """,
    ),
    case(
        "save_glob_policy_end",
        """
        import wandb
        run = wandb.init(project="diff")
        for i in range(2):
            with open(f"out{i}.txt", "w") as f:
                f.write(str(i))
        wandb.save("out*.txt", policy="end")
        """,
    ),
    case(
        "errors_module_names",
        """
        import wandb
        show("error_is_exception", issubclass(wandb.errors.Error, Exception))
        show("comm", issubclass(wandb.errors.CommError, wandb.errors.Error))
        show("usage", issubclass(wandb.errors.UsageError, wandb.errors.Error))
        run = wandb.init(project="diff")
        """,
    ),
    case(
        "util_generate_id",
        """
        import wandb
        rid = wandb.util.generate_id()
        show("len", len(rid))
        show("isalnum", rid.isalnum())
        run = wandb.init(project="diff", id=rid)
        show("same_id", run.id == rid)
        """,
        intended_difference=KEPT,
        differs=("error", "run", "config", "summary", "shown", "stored"),
        expect=shows(len=8, isalnum=True, same_id=True),
    ),
    case(
        "term_functions",
        """
        import wandb
        wandb.termlog("starting")
        wandb.termwarn("careful")
        wandb.termerror("oops")
        run = wandb.init(project="diff")
        run.log({"a": 1})
        """,
    ),
    case(
        "alert_levels_exist",
        """
        import wandb
        show("levels", sorted(level.name for level in wandb.AlertLevel))
        """,
    ),
    case(
        "mark_preempting",
        """
        import wandb
        run = wandb.init(project="diff")
        run.log({"a": 1})
        wandb.mark_preempting()
        """,
    ),
    case(
        "log_without_init",
        """
        import wandb
        wandb.log({"loss": 1.0})
        """,
    ),
    case(
        "run_is_none_before_init",
        """
        import wandb
        show("run", wandb.run is None)
        if wandb.run is None:
            wandb.init(project="diff")
        wandb.log({"a": 1})
        """,
    ),
]
