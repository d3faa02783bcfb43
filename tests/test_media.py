"""Rich values: images, tables from DataFrames, line series — stored as files, described in history."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import api_run

import turbotrack


def test_images_from_arrays_and_files(new_run, tmp_path):
    from PIL import Image as PILImage

    run = new_run()
    gray = np.linspace(0, 1, 32 * 16).reshape(32, 16)
    rgb_chw = np.zeros((3, 8, 8), dtype=np.float32)
    rgb_chw[0] = 1.0  # a red image, channels first as torch keeps them
    src = tmp_path / "photo.png"
    PILImage.new("RGB", (5, 7), (0, 255, 0)).save(src)
    run.log(
        {
            "gray": turbotrack.Image(gray, caption="ramp"),
            "red": turbotrack.Image(rgb_chw),
            "file": turbotrack.Image(str(src)),
        }
    )
    run.finish()
    (row,) = api_run(run).history(pandas=False)
    assert row["gray"]["caption"] == "ramp" and (row["gray"]["width"], row["gray"]["height"]) == (16, 32)
    with PILImage.open(Path(run.dir) / row["red"]["path"]) as img:
        assert img.size == (8, 8) and img.getpixel((3, 3)) == (255, 0, 0)
    assert (Path(run.dir) / row["file"]["path"]).read_bytes() == src.read_bytes()
    with pytest.raises(ValueError, match="no such file"):
        turbotrack.Image(str(tmp_path / "missing.png"))


def test_table_from_dataframe_and_line_series(new_run):
    import json

    run = new_run()
    df = pd.DataFrame({"epoch": [1, 2, 3], "acc": [0.5, 0.7, 0.8]})
    chart = turbotrack.plot.line_series(xs=[0, 1, 2], ys=[[1, 2, 3], [3, 2, 1]], keys=["up", "down"], title="two")
    run.log({"table": turbotrack.Table(dataframe=df), "chart": chart})
    run.finish()
    (row,) = api_run(run).history(pandas=False)
    stored = json.loads((Path(run.dir) / row["table"]["path"]).read_text())
    assert stored == {"columns": ["epoch", "acc"], "data": [[1, 0.5], [2, 0.7], [3, 0.8]]}
    assert row["chart"]["fields"] == {"x": "x", "y": "y", "stroke": "lineKey"} and row["chart"]["table"]["nrows"] == 6
    with pytest.raises(ValueError, match="expects 2 columns"):
        turbotrack.Table(columns=["a", "b"], data=[[1]])


def test_image_masks_and_boxes_kept_as_data(new_run):
    from PIL import Image as PILImage

    run = new_run()
    mask = np.zeros((4, 6), dtype=np.int64)
    mask[1:3, 2:5] = 2
    box = {"position": {"minX": 0.1, "maxX": 0.5, "minY": 0.2, "maxY": np.float32(0.75)}, "class_id": np.int64(2)}
    pixel_box = {
        "position": {"middle": [3, 2], "width": 2, "height": 1},
        "domain": "pixel",
        "class_id": 1,
        "box_caption": "cat",
        "scores": {"acc": np.float64(0.9)},
    }
    img = turbotrack.Image(
        np.zeros((4, 6, 3), dtype=np.uint8),
        caption="scene",
        masks={"pred": {"mask_data": mask, "class_labels": {0: "bg", 2: "dog"}}, "truth": {"mask_data": mask > 0}},
        boxes={"pred": {"box_data": [box, pixel_box], "class_labels": {1: "cat", 2: "dog"}}},
    )
    run.log({"seg": img})
    run.log({"seg": img, "many": [img, turbotrack.Image(img, caption="again")]})
    run.finish()
    rows = api_run(run).history(pandas=False)
    assert len(rows) == 2
    first = rows[0]["seg"]
    assert first["caption"] == "scene"
    pred = first["masks"]["pred"]
    assert pred["_type"] == "mask" and pred["class_labels"] == {"0": "bg", "2": "dog"}
    assert (pred["width"], pred["height"]) == (6, 4)
    with PILImage.open(Path(run.dir) / pred["path"]) as png:
        assert png.mode == "L" and np.array_equal(np.asarray(png), mask)
    with PILImage.open(Path(run.dir) / first["masks"]["truth"]["path"]) as png:
        assert np.asarray(png).tolist() == (mask > 0).astype(np.uint8).tolist()
    assert "class_labels" not in first["masks"]["truth"]
    assert first["boxes"] == {
        "pred": {
            "_type": "bounding-boxes",
            "box_data": [
                {"position": {"minX": 0.1, "maxX": 0.5, "minY": 0.2, "maxY": 0.75}, "class_id": 2},
                {
                    "position": {"middle": [3.0, 2.0], "width": 2.0, "height": 1.0},
                    "class_id": 1,
                    "domain": "pixel",
                    "box_caption": "cat",
                    "scores": {"acc": 0.9},
                },
            ],
            "class_labels": {"1": "cat", "2": "dog"},
        }
    }
    # a second step's masks are files of their own; images in a list keep theirs
    second = rows[1]
    assert second["seg"]["masks"]["pred"]["path"] != pred["path"]
    assert (Path(run.dir) / second["seg"]["masks"]["pred"]["path"]).is_file()
    items = second["many"]["items"]
    assert [i["caption"] for i in items] == ["scene", "again"]
    assert len({i["masks"]["pred"]["path"] for i in items}) == 2 and items[1]["boxes"] == first["boxes"]
    assert any(f.name.endswith(pred["path"]) for f in api_run(run).files())


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"masks": {"m": {"mask_data": np.zeros((2, 2, 3))}}}, ValueError, "2-D array"),
        ({"masks": {"m": {"mask_data": np.array([[0, 300]])}}}, ValueError, "0 to 255"),
        ({"masks": {"m": {"mask_data": np.array([[0.5, 1.0]])}}}, ValueError, "0 to 255"),
        ({"masks": {"m": {"class_labels": {0: "a"}}}}, ValueError, "give mask_data"),
        ({"masks": {"m": {"mask_data": np.zeros((2, 2)), "class_labels": {"0": "a"}}}}, TypeError, "int class ids"),
        ({"masks": [np.zeros((2, 2))]}, TypeError, "dict of name"),
        ({"boxes": {"b": {"box_data": [{"position": {"minX": 0}, "class_id": 1}]}}}, ValueError, "position needs"),
        (
            {"boxes": {"b": {"box_data": [{"position": {"middle": [0, 0], "width": 1, "height": 1}}]}}},
            TypeError,
            "class_id",
        ),
        (
            {
                "boxes": {
                    "b": {
                        "box_data": [
                            {"position": {"middle": [0, 0], "width": 1, "height": 1}, "class_id": 0, "domain": "px"}
                        ]
                    }
                }
            },
            ValueError,
            "domain",
        ),
        ({"boxes": {"b": {"box_data": {"position": {}}}}}, TypeError, "list of boxes"),
    ],
)
def test_image_masks_and_boxes_checked_when_made(kwargs, error, match):
    with pytest.raises(error, match=match):
        turbotrack.Image(np.zeros((2, 2), dtype=np.uint8), **kwargs)


def test_table_as_wandb_makes_them(new_run):
    """wandb's Table surface: rows= (its older name for data=), default columns, a DataFrame or a 2-D
    array as data, add_column, get_column, get_index, iterrows, add_computed_columns; media cells."""
    import json

    assert turbotrack.Table(data=[[1, 2, 3]]).columns == ["Input", "Output", "Expected"]
    t = turbotrack.Table(columns=["a", "b"], rows=[[1, 2]])
    assert t.data == [[1, 2]] and list(t.iterrows()) == [(0, [1, 2])] and t.get_index() == [0]
    t.add_column("c", [5])
    t.add_data(3, 4, 6)
    t.add_computed_columns(lambda i, row: {"sum": row["a"] + row["b"] + row["c"]})
    assert t.columns == ["a", "b", "c", "sum"] and t.data == [[1, 2, 5, 8], [3, 4, 6, 13]]
    assert t.get_column("sum") == [8, 13] and t.get_column("a", convert_to="numpy").tolist() == [1, 3]
    with pytest.raises(ValueError, match="already has a column 'c'"):
        t.add_column("c", [1, 2])
    with pytest.raises(ValueError, match="3 values for 2 rows"):
        t.add_column("d", [1, 2, 3])
    with pytest.raises(KeyError, match="no column 'zz'"):
        t.get_column("zz")
    assert turbotrack.Table(columns=["x"], data=np.array([[1], [2]])).get_column("x") == [1, 2]
    assert turbotrack.Table(data=pd.DataFrame({"p": [0.5]})).columns == ["p"]
    empty = turbotrack.Table(columns=[])
    empty.add_column("first", [1, 2])
    assert empty.data == [[1], [2]]

    run = new_run()
    img = turbotrack.Image(np.zeros((3, 2), dtype=np.uint8))
    cells = turbotrack.Table(
        columns=["img", "arr", "when", "n"],
        data=[
            [img, np.arange(40), __import__("datetime").date(2024, 1, 2), np.float32(0.5)],
            [None, [1, None], "x", 2],
        ],
    )
    run.log({"t": cells})
    run.finish()
    (row,) = api_run(run).history(pandas=False)
    stored = json.loads((Path(run.dir) / row["t"]["path"]).read_text())
    first, second = stored["data"]
    assert first[0]["_type"] == "image-file" and (Path(run.dir) / first[0]["path"]).is_file()
    assert first[1:] == [list(range(40)), "2024-01-02", 0.5]  # arrays whole in a table, as wandb
    assert second == [None, [1, None], "x", 2]


def test_plots_take_wandbs_arguments(new_run):
    table = turbotrack.Table(columns=["x", "y", "k"], data=[[0, 1.0, "a"], [1, 0.5, "b"]])
    plots = {
        "line": turbotrack.plot.line(table, "x", "y", stroke="k", title="t"),
        "scatter": turbotrack.plot.scatter(table, "x", "y"),
        "bar": turbotrack.plot.bar(table, "k", "y"),
        "hist": turbotrack.plot.histogram(table, "y"),
        "series": turbotrack.plot.line_series(xs=np.arange(3), ys=np.array([[1, 2, 3], [3, 2, 1]])),
        "series_own_x": turbotrack.plot.line_series(xs=[[0, 1], [5, 6, 7]], ys=[[1, 2], [3, 2, 1]], keys=["p", "q"]),
        "cm": turbotrack.plot.confusion_matrix(y_true=[0, 1, 1], preds=[0, 1, 0], class_names=["n", "p"]),
        "pr": turbotrack.plot.pr_curve([0, 1, 1], [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]], labels=["n", "p"]),
        "roc": turbotrack.plot.roc_curve([0, 1, 1], [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]),
        "custom": turbotrack.plot.plot_table("me/spec", table, {"x": "x", "y": "y"}, {"title": "mine"}),
    }
    run = new_run()
    run.log(plots)
    run.finish()
    (row,) = api_run(run).history(pandas=False)
    assert row["line"]["fields"] == {"x": "x", "y": "y", "stroke": "k"} and row["line"]["title"] == "t"
    assert row["series"]["table"]["nrows"] == 6 and row["series_own_x"]["table"]["nrows"] == 5
    assert row["cm"]["table"]["nrows"] == 4 and row["pr"]["title"] == "Precision-Recall Curve"
    assert row["roc"]["title"] == "ROC Curve"
    assert row["custom"]["spec"] == "me/spec" and row["custom"]["strings"] == {"title": "mine"}
    with pytest.raises(ValueError, match="2 x sequences for 1 lines"):
        turbotrack.plot.line_series(xs=[[0], [1]], ys=[[1]])


def test_histogram_arguments():
    h = turbotrack.Histogram(np_histogram=np.histogram([1, 2, 3], bins=2))
    assert (h.histogram, h.bins) == ([1, 2], [1.0, 2.0, 3.0])
    assert turbotrack.Histogram(np_histogram=([1, 2], [0, 1, 2])).histogram == [1, 2]
    assert turbotrack.Histogram([1, 2, 3, 4], num_bins=3).histogram == [1, 1, 2]
    with pytest.raises(ValueError, match="len\\(bin_edges\\) == len\\(counts\\) \\+ 1"):
        turbotrack.Histogram(np_histogram=([1, 2], [0, 1]))
    with pytest.raises(ValueError, match="at most 512 bins"):
        turbotrack.Histogram(np_histogram=(np.ones(600), np.arange(601)))
    with pytest.raises(ValueError, match="num_bins"):
        turbotrack.Histogram([1, 2], num_bins=0)
