"""``config``: the forms scripts give it (dicts, argparse, attribute set, update) and read it back in."""

from __future__ import annotations

from differential.harness import case

CASES = [
    case(
        "config_argparse_namespace",
        """
        import argparse
        import wandb
        parser = argparse.ArgumentParser()
        parser.add_argument("--lr", type=float, default=0.01)
        parser.add_argument("--epochs", type=int, default=2)
        parser.add_argument("--name", default="resnet")
        args = parser.parse_args([])
        run = wandb.init(project="diff", config=args)
        show("lr", wandb.config.lr)
        """,
    ),
    case(
        "config_vars_of_args",
        """
        import argparse
        import wandb
        parser = argparse.ArgumentParser()
        parser.add_argument("--batch-size", type=int, default=32)
        args = parser.parse_args([])
        run = wandb.init(project="diff")
        wandb.config.update(vars(args))
        wandb.config.update(args)
        """,
    ),
    case(
        "config_attribute_and_item_set",
        """
        import wandb
        wandb.init(project="diff")
        config = wandb.config
        config.learning_rate = 0.01
        config["batch_size"] = 64
        show("lr", config.learning_rate)
        show("bs", config.batch_size)
        """,
    ),
    case(
        "config_update_dict",
        """
        import wandb
        run = wandb.init(project="diff", config={"a": 1})
        run.config.update({"b": 2, "c": "x"})
        show("keys", sorted(run.config.keys()))
        """,
    ),
    case(
        "config_nested",
        """
        import wandb
        run = wandb.init(project="diff", config={"model": {"layers": 2, "act": "relu"}, "data": {"root": "/data", "splits": [0.8, 0.2]}})
        show("layers", run.config["model"]["layers"])
        """,
    ),
    case(
        "config_numpy_values",
        """
        import numpy as np
        import wandb
        run = wandb.init(project="diff", config={"lr": np.float32(0.5), "n": np.int64(3), "mean": np.array([0.5, 0.25]), "flag": np.bool_(True)})
        """,
    ),
    case(
        "config_tuple_and_set",
        """
        import wandb
        run = wandb.init(project="diff", config={"shape": (3, 224, 224), "betas": (0.9, 0.999)})
        show("shape", run.config.shape)
        """,
    ),
    case(
        "config_path_value",
        """
        import pathlib
        import wandb
        run = wandb.init(project="diff", config={"data_dir": pathlib.Path("/data/imagenet")})
        """,
    ),
    case(
        "config_none_and_bool",
        """
        import wandb
        run = wandb.init(project="diff", config={"scheduler": None, "amp": False, "tag": ""})
        """,
    ),
    case(
        "config_change_value_refused",
        """
        import wandb
        run = wandb.init(project="diff", config={"lr": 0.1})
        wandb.config.update({"lr": 0.2})
        """,
    ),
    case(
        "config_allow_val_change",
        """
        import wandb
        run = wandb.init(project="diff", config={"lr": 0.1})
        wandb.config.update({"lr": 0.2}, allow_val_change=True)
        show("lr", wandb.config.lr)
        """,
    ),
    case(
        "config_setdefaults_sweep_style",
        """
        import wandb
        run = wandb.init(project="diff", config={"lr": 0.3})
        wandb.config.setdefaults({"lr": 0.1, "batch_size": 16})
        show("lr", wandb.config.lr)
        show("bs", wandb.config.batch_size)
        """,
    ),
    case(
        "config_read_idioms",
        """
        import wandb
        run = wandb.init(project="diff", config={"lr": 0.1, "epochs": 2})
        show("get_missing", wandb.config.get("missing", 5))
        show("contains", "lr" in wandb.config)
        show("items", sorted((k, v) for k, v in wandb.config.items()))
        show("as_dict", {k: v for k, v in wandb.config.as_dict().items() if not k.startswith("_")})
        """,
    ),
    case(
        "config_missing_attribute",
        """
        import wandb
        run = wandb.init(project="diff", config={"lr": 0.1})
        value = wandb.config.not_there
        """,
    ),
]
