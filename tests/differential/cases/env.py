"""``WANDB_*`` environment variables, set around the script or inside it, as scripts and CI jobs do."""

from __future__ import annotations

from differential.harness import case

CASES = [
    case(
        "env_mode_disabled",
        """
        import wandb
        run = wandb.init(project="diff", config={"lr": 0.1})
        for i in range(3):
            wandb.log({"loss": 1.0 / (i + 1)})
        run.summary["best"] = 1.0
        show("lr", wandb.config.lr)
        """,
        env={"WANDB_MODE": "disabled"},
    ),
    case(
        "env_mode_dryrun",
        """
        import wandb
        run = wandb.init(project="diff")
        run.log({"loss": 1.0})
        """,
        env={"WANDB_MODE": "dryrun"},
    ),
    case(
        "env_mode_set_in_script",
        """
        import os
        os.environ["WANDB_MODE"] = "disabled"
        import wandb
        run = wandb.init(project="diff")
        run.log({"loss": 1.0})
        """,
    ),
    case(
        "env_project",
        """
        import wandb
        run = wandb.init()
        run.log({"loss": 1.0})
        """,
        env={"WANDB_PROJECT": "from-env"},
    ),
    case(
        "env_project_argument_wins",
        """
        import wandb
        run = wandb.init(project="from-arg")
        run.log({"loss": 1.0})
        """,
        env={"WANDB_PROJECT": "from-env"},
    ),
    case(
        "env_name_notes_tags",
        """
        import wandb
        run = wandb.init(project="diff")
        run.log({"loss": 1.0})
        show("tags", list(run.tags))
        show("notes", run.notes)
        """,
        env={"WANDB_NAME": "env-named", "WANDB_NOTES": "from the environment", "WANDB_TAGS": "alpha,beta"},
    ),
    case(
        "env_group_and_job_type",
        """
        import wandb
        run = wandb.init(project="diff")
        run.log({"loss": 1.0})
        show("group", run.group)
        show("job_type", run.job_type)
        """,
        env={"WANDB_RUN_GROUP": "sweep-7", "WANDB_JOB_TYPE": "eval"},
    ),
    case(
        "env_run_id",
        """
        import wandb
        run = wandb.init(project="diff")
        run.log({"loss": 1.0})
        """,
        env={"WANDB_RUN_ID": "envid123"},
    ),
    case(
        "env_dir",
        """
        import os
        import wandb
        os.makedirs(os.environ["WANDB_DIR"], exist_ok=True)
        run = wandb.init(project="diff")
        run.log({"loss": 1.0})
        show("dir_inside", os.path.abspath(run.dir).startswith(os.path.abspath("runs-here")))
        """,
        env={"WANDB_DIR": "runs-here"},
    ),
    case(
        "env_silent_console_off",
        """
        import os
        os.environ["WANDB_CONSOLE"] = "off"
        os.environ["WANDB_SILENT"] = "true"
        import wandb
        wandb.init(project="diff")
        print("hello")
        wandb.log({"loss": 1.0})
        """,
    ),
    case(
        "env_entity",
        """
        import wandb
        run = wandb.init(project="diff")
        run.log({"loss": 1.0})
        show("entity", run.entity)
        """,
        env={"WANDB_ENTITY": "env-team"},
    ),
]
