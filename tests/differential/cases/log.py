"""``log()`` with the value types training scripts hand it."""

from __future__ import annotations

from differential.cases.summary import NONE_IN_SUMMARY
from differential.harness import case, summary_as_stored


def logs(name: str, body: str, **kwargs):  # type: ignore[no-untyped-def]
    """A case that starts a run, then runs ``body`` (which logs)."""
    return case(name, "import wandb\nimport numpy as np\nrun = wandb.init(project='diff')\n" + body, **kwargs)


CASES = [
    logs("log_floats_and_ints", "run.log({'loss': 0.25, 'epoch': 1, 'big': 2**40, 'neg': -3})\n"),
    logs(
        "log_numpy_scalars",
        "run.log({'f32': np.float32(0.5), 'f64': np.float64(1.25), 'i64': np.int64(7), 'u8': np.uint8(200), 'b': np.bool_(True)})\n",
    ),
    logs(
        "log_none_value",
        "run.log({'train_loss': 0.3, 'val_loss': None})\nrun.log({'train_loss': 0.2, 'val_loss': 0.4})\n",
    ),
    logs(
        "log_none_last",
        "run.log({'val_loss': 0.4})\nrun.log({'val_loss': None})\n",
        intended_difference=NONE_IN_SUMMARY,
        differs=("summary",),
        expect=summary_as_stored,
    ),
    logs(
        "log_lr_list_one_group",
        """
class Sched:
    def get_last_lr(self):
        return [0.001]
scheduler = Sched()
for step in range(3):
    wandb.log({"loss": 1.0 - step * 0.1, "lr": scheduler.get_last_lr()})
""",
    ),
    logs("log_lr_list_two_groups", "run.log({'lr': [0.001, 0.0005], 'loss': 1.0})\n"),
    logs("log_tuple", "run.log({'shape': (3, 224, 224), 'pair': (0.5, 'a')})\n"),
    logs("log_nested_lists", "run.log({'grid': [[1, 2], [3, 4]], 'ragged': [[1], [2, 3]]})\n"),
    logs("log_list_of_strings", "run.log({'tokens': ['the', 'cat', 'sat']})\n"),
    logs("log_list_of_dicts", "run.log({'preds': [{'label': 'cat', 'p': 0.9}, {'label': 'dog', 'p': 0.1}]})\n"),
    logs("log_list_with_none", "run.log({'xs': [1, None, 2.5]})\n"),
    logs("log_empty_list", "run.log({'empty': [], 'loss': 1.0})\n"),
    logs("log_nested_dict", "run.log({'train': {'loss': 0.1, 'acc': 0.9}, 'val': {'loss': 0.2}})\n"),
    logs("log_deeply_nested_dict", "run.log({'a': {'b': {'c': {'d': 1}}}})\n"),
    logs("log_slash_names", "for i in range(3):\n    run.log({'train/loss': 1.0 / (i + 1), 'val/acc': i * 0.1})\n"),
    logs("log_small_array", "run.log({'v': np.array([1.0, 2.0, 3.0])})\n"),
    logs("log_array_32", "run.log({'v': np.arange(32)})\n"),
    logs("log_array_33_histogram", "run.log({'v': np.arange(33)})\n"),
    logs("log_large_array_histogram", "rng = np.random.default_rng(0)\nrun.log({'weights': rng.normal(size=1000)})\n"),
    logs("log_2d_small_array", "run.log({'m': np.eye(3)})\n"),
    logs("log_0d_array", "run.log({'s': np.array(3.5)})\n"),
    logs("log_one_element_array", "run.log({'s': np.array([2.0])})\n"),
    logs(
        "log_datetime_and_date",
        "import datetime\nrun.log({'when': datetime.datetime(2024, 1, 2, 3, 4, 5), 'day': datetime.date(2024, 1, 2)})\n",
    ),
    logs("log_bytes", "run.log({'raw': b'hello'})\n"),
    logs("log_set", "run.log({'ids': {3, 1, 2}})\n"),
    logs("log_strings", "run.log({'status': 'ok', 'empty': ''})\nrun.log({'status': 'done'})\n"),
    logs("log_bools", "run.log({'converged': False, 'ok': True})\nrun.log({'converged': True})\n"),
    logs(
        "log_nan_and_inf",
        "run.log({'loss': float('nan'), 'grad': float('inf')})\nrun.log({'loss': 0.5, 'grad': -float('inf')})\n",
    ),
    logs("log_name_with_dash", "run.log({'loss-rate': 0.1, 'train/1st': 2})\n"),
    logs(
        "log_unsupported_object",
        "class Thing:\n    pass\nrun.log({'thing': Thing(), 'loss': 1.0})\nrun.log({'loss': 0.5})\n",
    ),
    logs(
        "log_raw_np_histogram_tuple",
        "rng = np.random.default_rng(1)\nrun.log({'h': np.histogram(rng.normal(size=100), bins=8)})\n",
    ),
    logs("log_many_steps", "for i in range(200):\n    run.log({'loss': 1.0 / (i + 1), 'i': i})\n"),
]
