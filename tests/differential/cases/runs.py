"""More than one run in a process (``reinit``, sweeps-style loops), and ``resume``."""

from __future__ import annotations

from differential.harness import case, raises

CASES = [
    case(
        "second_init_without_reinit",
        """
        import wandb
        a = wandb.init(project="diff", name="first")
        a.log({"x": 1})
        b = wandb.init(project="diff", name="second")
        b.log({"x": 2})
        show("same_object", a is b)
        run = b
        """,
    ),
    case(
        "reinit_true",
        """
        import wandb
        for seed in range(3):
            run = wandb.init(project="diff", config={"seed": seed}, reinit=True)
            run.log({"loss": 1.0 / (seed + 1)})
        """,
    ),
    case(
        "reinit_finish_previous",
        """
        import wandb
        a = wandb.init(project="diff", name="a")
        a.log({"x": 1})
        run = wandb.init(project="diff", name="b", reinit="finish_previous")
        run.log({"x": 2})
        """,
    ),
    case(
        "reinit_create_new",
        """
        import wandb
        a = wandb.init(project="diff", name="a")
        b = wandb.init(project="diff", name="b", reinit="create_new")
        a.log({"x": 1})
        b.log({"x": 2})
        show("module_run_is_first", wandb.run is a)
        show("distinct", a.id != b.id)
        run = a
        """,
    ),
    case(
        "finish_in_loop",
        """
        import wandb
        for lr in (0.1, 0.01):
            run = wandb.init(project="diff", config={"lr": lr}, group="grid")
            for i in range(2):
                wandb.log({"loss": lr * (i + 1)})
            wandb.finish()
        """,
    ),
    case(
        "finish_exit_code_nonzero",
        """
        import wandb
        run = wandb.init(project="diff")
        run.log({"a": 1})
        run.finish(exit_code=1)
        """,
    ),
    case(
        "resume_allow_new_id",
        """
        import wandb
        run = wandb.init(project="diff", id="resumeme1", resume="allow")
        run.log({"a": 1})
        """,
    ),
    case(
        "resume_must_missing_run",
        """
        import wandb
        run = wandb.init(project="diff", id="nosuchrun", resume="must")
        run.log({"a": 1})
        """,
        intended_difference="offline, wandb cannot know whether the run exists and starts it; turbotrack finds no such run in its storage root and refuses, as wandb does online",
        differs=("error", "run", "config", "summary", "stored"),
        expect=raises("ValueError", 1),
    ),
]
