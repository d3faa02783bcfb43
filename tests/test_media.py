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
    with pytest.raises(ValueError, match="needs 2 values"):
        turbotrack.Table(columns=["a", "b"], data=[[1]])
