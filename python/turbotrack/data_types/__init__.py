"""Rich values for ``log()``: histograms, tables, images and plots, and the converter that turns
NumPy/PyTorch/TensorFlow values into what the native core records.

The core handles Python's own numbers, bools and strings itself; everything else comes here,
on a cold path, once per value.
"""

from __future__ import annotations

from .convert import Converter, to_numpy
from .histogram import Histogram
from .image import Image
from .table import Table

__all__ = ["Converter", "Histogram", "Image", "Table", "to_numpy"]
