"""The differential suite: user code run through the real wandb (the oracle) and through turbotrack,
what a user observes compared. ``harness`` runs and compares; each ``cases_*`` module holds cases."""
