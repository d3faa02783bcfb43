"""``wandb.init`` arguments and settings, as training scripts pass them."""

from __future__ import annotations

from differential.harness import case, stores

LENIENT = (
    "a Settings name or method that wandb 0.31 removed (start_method, Settings.update) but many scripts still "
    "use is accepted and ignored rather than refused"
)

CASES = [
    case(
        "init_project_and_loop",
        """
        import wandb
        run = wandb.init(project="diff")
        for epoch in range(3):
            run.log({"loss": 1.0 / (epoch + 1), "epoch": epoch})
        """,
    ),
    case(
        "init_name_and_id",
        """
        import wandb
        run = wandb.init(project="diff", name="baseline-1", id="abc123xy")
        run.log({"acc": 0.5})
        """,
    ),
    case(
        "init_tags_group_job_type_notes",
        """
        import wandb
        run = wandb.init(project="diff", tags=["baseline", "v2"], group="exp-1", job_type="train", notes="first try")
        run.log({"loss": 0.3})
        show("tags", list(run.tags))
        show("group", run.group)
        show("job_type", run.job_type)
        show("notes", run.notes)
        """,
    ),
    case(
        "init_config_dict",
        """
        import wandb
        run = wandb.init(project="diff", config={"lr": 1e-3, "epochs": 3, "layers": [64, 32], "optimizer": "adam"})
        show("lr", run.config.lr)
        show("epochs", wandb.config["epochs"])
        """,
    ),
    case(
        "init_settings_console_off_disable_stats",
        """
        import wandb
        run = wandb.init(project="diff", settings=wandb.Settings(console="off", _disable_stats=True))
        print("to stdout")
        run.log({"x": 1})
        """,
    ),
    case(
        "init_settings_disable_git_code_silent",
        """
        import wandb
        settings = wandb.Settings(disable_git=True, disable_code=True, silent=True)
        with wandb.init(project="diff", settings=settings) as run:
            run.log({"hello": "world"})
            for i in range(3):
                run.log({"metric": i})
        """,
    ),
    case(
        "init_settings_start_method_thread",
        """
        import wandb
        wandb.init(
            project="diff",
            reinit=True,
            config={"seed": 1},
            settings=wandb.Settings(start_method="thread", _disable_stats=True, _disable_meta=True),
        )
        wandb.log({"a": 1})
        print("W&B run name:", wandb.run.name)
        """,
        intended_difference=LENIENT,
        differs=("error", "run", "config", "summary", "stored"),
        expect=stores(history=[{"_step": 0, "a": 1}], config={"seed": 1}),
    ),
    case(
        "init_settings_as_dict",
        """
        import wandb
        run = wandb.init(project="diff", settings={"console": "off", "x_disable_stats": True})
        run.log({"a": 2})
        """,
    ),
    case(
        "init_settings_unknown_field",
        """
        import wandb
        try:
            wandb.Settings(not_a_wandb_setting=1)
        except ValueError:
            show("refused", "ValueError")
        run = wandb.init(project="diff")
        run.log({"a": 1})
        """,
    ),
    case(
        "init_settings_update",
        """
        import wandb
        settings = wandb.Settings()
        settings.update({"disable_git": True})
        run = wandb.init(project="diff", config={"foo": "bar", "lr": 0.1, "epochs": 5}, settings=settings)
        for i in range(1, run.config["epochs"]):
            wandb.log({"loss": i})
        """,
        intended_difference=LENIENT,
        differs=("error", "run", "config", "summary", "stored"),
        expect=stores(
            history=[{"_step": i - 1, "loss": i} for i in range(1, 5)], config={"foo": "bar", "lr": 0.1, "epochs": 5}
        ),
    ),
    case(
        "init_mode_disabled",
        """
        import wandb
        run = wandb.init(project="diff", mode="disabled", config={"lr": 0.1})
        run.log({"loss": 1.0})
        wandb.log({"loss": 0.5})
        run.summary["best"] = 0.5
        show("config_lr", run.config.lr)
        """,
    ),
    case(
        "init_mode_offline",
        """
        import wandb
        run = wandb.init(project="diff", mode="offline")
        run.log({"loss": 1.0})
        """,
    ),
    case(
        "init_dir_argument",
        """
        import os
        import wandb
        os.makedirs("outputs/logs", exist_ok=True)
        run = wandb.init(project="diff", dir="outputs/logs")
        run.log({"loss": 1.0})
        show("dir_inside", os.path.abspath(run.dir).startswith(os.path.abspath("outputs/logs")))
        """,
    ),
    case(
        "init_context_manager",
        """
        import wandb
        with wandb.init(project="diff", config={"a": 1}) as run:
            run.log({"loss": 0.5})
            run.log({"loss": 0.25})
        show("live_after_with", wandb.run is not None)
        """,
    ),
    case(
        "init_context_manager_exception",
        """
        import wandb
        with wandb.init(project="diff") as run:
            run.log({"loss": 0.5})
            raise ValueError("diverged")
        """,
    ),
    case(
        "init_uncaught_exception_fails_run",
        """
        import wandb
        run = wandb.init(project="diff")
        run.log({"loss": 0.5})
        raise RuntimeError("out of memory")
        """,
    ),
    case(
        "init_module_level_calls",
        """
        import wandb
        wandb.init(project="diff", config={"bs": 8})
        wandb.log({"loss": 1.0})
        wandb.summary["final"] = 3
        wandb.config.update({"extra": True})
        show("has_run", wandb.run is not None)
        show("run_project", wandb.run.project)
        wandb.finish()
        show("run_after_finish", wandb.run is None)
        """,
    ),
    case(
        "init_setup_then_init",
        """
        import wandb
        wandb.setup()
        run = wandb.init(project="diff")
        run.log({"a": 1})
        """,
    ),
    case(
        "init_entity_given",
        """
        import wandb
        run = wandb.init(project="diff", entity="my-team")
        run.log({"a": 1})
        show("entity", run.entity)
        """,
    ),
    case(
        "init_no_project",
        """
        import wandb
        run = wandb.init()
        run.log({"a": 1})
        """,
    ),
]
