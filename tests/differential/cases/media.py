"""Media, tables and plots as scripts log them (values compared by their ``_type``)."""

from __future__ import annotations

from differential.harness import Outcome, case

PLOT = (
    "wandb stores a plot's data as a '<key>_table' table in history and its chart in the run's config; turbotrack "
    "stores one 'plot' value (table and chart spec together) under the key the script logged"
)


def plot_under(key: str):  # type: ignore[no-untyped-def]
    def expect(o: Outcome) -> None:
        assert o.error is None, f"raised {o.error}"
        stored = o.normal_stored[0]
        assert [r.get(key) for r in stored["history"]] == [{"_type": "plot"}], f"history {stored['history']}"
        assert stored["summary"].get(key) == {"_type": "plot"}, stored["summary"]

    return dict(intended_difference=PLOT, differs=("summary", "stored.history", "stored.summary"), expect=expect)


def media(name: str, body: str, **kwargs):  # type: ignore[no-untyped-def]
    return case(name, "import wandb\nimport numpy as np\nrun = wandb.init(project='diff')\n" + body, **kwargs)


TABLE = "table = wandb.Table(columns=['x', 'y'], data=[[i, i * i] for i in range(5)])\n"

CASES = [
    media(
        "media_image_uint8",
        "img = np.zeros((8, 8, 3), dtype=np.uint8)\nrun.log({'sample': wandb.Image(img, caption='zeros')})\n",
    ),
    media("media_image_float", "rng = np.random.default_rng(0)\nrun.log({'noise': wandb.Image(rng.random((8, 8)))})\n"),
    media(
        "media_image_list",
        "imgs = [wandb.Image(np.full((4, 4), i, dtype=np.uint8)) for i in range(3)]\nrun.log({'examples': imgs})\n",
    ),
    media(
        "media_image_pil",
        "from PIL import Image as PILImage\nrun.log({'pil': wandb.Image(PILImage.new('RGB', (6, 6), (255, 0, 0)))})\n",
    ),
    media(
        "media_histogram", "rng = np.random.default_rng(0)\nrun.log({'grads': wandb.Histogram(rng.normal(size=500))})\n"
    ),
    media(
        "media_histogram_np_histogram",
        "rng = np.random.default_rng(0)\nrun.log({'h': wandb.Histogram(np_histogram=np.histogram(rng.normal(size=200), bins=10))})\n",
    ),
    media("media_table_columns_data", TABLE + "run.log({'squares': table})\n"),
    media(
        "media_table_rows",
        "table = wandb.Table(columns=['a', 'b'], rows=[[1, 'x'], [2, 'y']])\nrun.log({'t': table})\n",
    ),
    media(
        "media_table_add_data",
        "table = wandb.Table(columns=['id', 'pred'])\nfor i in range(3):\n    table.add_data(i, i % 2)\nrun.log({'preds': table})\nshow('columns', table.columns)\nshow('data', table.data)\n",
    ),
    media(
        "media_table_dataframe",
        "import pandas as pd\ndf = pd.DataFrame({'a': [1, 2], 'b': [0.5, 0.25]})\nrun.log({'df': wandb.Table(dataframe=df)})\n",
    ),
    media(
        "media_plot_line",
        TABLE + "run.log({'curve': wandb.plot.line(table, 'x', 'y', title='squares')})\n",
        **plot_under("curve"),
    ),
    media(
        "media_plot_scatter",
        TABLE + "run.log({'scatter': wandb.plot.scatter(table, 'x', 'y')})\n",
        **plot_under("scatter"),
    ),
    media(
        "media_plot_bar",
        "table = wandb.Table(data=[['a', 1], ['b', 3]], columns=['label', 'value'])\nrun.log({'bar': wandb.plot.bar(table, 'label', 'value', title='counts')})\n",
        **plot_under("bar"),
    ),
    media(
        "media_plot_histogram",
        "table = wandb.Table(data=[[s] for s in (0.1, 0.4, 0.4, 0.9)], columns=['scores'])\nrun.log({'hist': wandb.plot.histogram(table, 'scores', title='scores')})\n",
        **plot_under("hist"),
    ),
    media(
        "media_plot_line_series",
        "run.log({'series': wandb.plot.line_series(xs=[0, 1, 2], ys=[[1, 2, 3], [3, 2, 1]], keys=['up', 'down'], title='two')})\n",
        **plot_under("series"),
    ),
    media(
        "media_plot_confusion_matrix",
        "run.log({'cm': wandb.plot.confusion_matrix(y_true=[0, 1, 1, 0], preds=[0, 1, 0, 0], class_names=['neg', 'pos'])})\n",
        **plot_under("cm"),
    ),
    media("media_html", "run.log({'page': wandb.Html('<b>hello</b>')})\n"),
    media("media_summary_holds_table", TABLE + "run.summary['final_table'] = table\n"),
]
