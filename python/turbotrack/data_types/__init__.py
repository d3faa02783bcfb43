"""Rich values for ``log()``: histograms, tables, images and plots, and the converter that turns
NumPy/PyTorch/TensorFlow values into what the native core records.

The core handles Python's own numbers, bools and strings itself; everything else comes here,
on a cold path, once per value.
"""

from __future__ import annotations

from .audio import Audio
from .convert import Converter, to_numpy
from .histogram import Histogram
from .html import Html
from .image import Image
from .table import Table
from .video import Video

__all__ = ["Audio", "Converter", "Histogram", "Html", "Image", "Table", "Video", "to_numpy"]
