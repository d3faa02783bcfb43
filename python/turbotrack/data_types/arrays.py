"""Arrays and tensors: which values are tensors, and reading any of them as a NumPy array.

Libraries are looked up in ``sys.modules``: a tensor exists only if the program imported its
library, so nothing is imported here to recognise one.
"""

from __future__ import annotations

import sys
from typing import Any


def is_tensor(v: Any) -> bool:
    """A PyTorch tensor (any subclass: fastai's ``TensorBase``, ``Parameter``...), a TensorFlow or a JAX array."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(v, torch.Tensor):
        return True
    mod = type(v).__module__
    if mod.startswith("tensorflow") and hasattr(v, "numpy"):
        return True
    jax = sys.modules.get("jax")
    return jax is not None and isinstance(v, getattr(jax, "Array", ())) and hasattr(v, "__array__")


def to_numpy(v: Any) -> Any:
    """An array or tensor as a NumPy array (tensors detached and copied to the host; bfloat16 and
    other types NumPy lacks as float32)."""
    import numpy as np

    if isinstance(v, np.ndarray):
        return v
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(v, torch.Tensor):
        t = v.detach()
        if type(t) is not torch.Tensor:  # a subclass: read it as the plain tensor it wraps
            t = t.as_subclass(torch.Tensor)
        if t.layout != torch.strided:
            t = t.to_dense()
        t = t.cpu().resolve_conj().resolve_neg()
        try:
            return t.numpy()
        except TypeError:  # bfloat16, float8...: no NumPy dtype
            return t.float().numpy()
    if type(v).__module__.startswith("tensorflow"):
        return np.asarray(v.numpy())
    return np.asarray(v)
