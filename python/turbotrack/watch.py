"""``watch(model)``: histograms of a PyTorch model's parameters and gradients, every ``log_freq``
forward passes, logged into the current step (histograms are computed on the model's device, so
only the bin counts cross to the host)."""

from __future__ import annotations

from typing import Any, Optional

from .data_types import Histogram, to_numpy

_BINS = 64
_hooks: dict[int, Any] = {}


def _histogram(t: Any) -> Optional[Histogram]:
    if type(t).__module__.startswith("torch"):
        flat = t.detach().float().flatten()
        flat = flat[flat.isfinite()]
        if flat.numel() == 0:
            return None
        lo, hi = float(flat.min()), float(flat.max())
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        counts = flat.histc(bins=_BINS, min=lo, max=hi).cpu().numpy()
        import numpy as np

        return Histogram(np_histogram=(counts, np.linspace(lo, hi, _BINS + 1)))
    arr = to_numpy(t)
    return None if arr is None or arr.size == 0 else Histogram(arr, num_bins=_BINS)


def watch(
    models: Any,
    criterion: Any = None,
    log: Optional[str] = "gradients",
    log_freq: int = 1000,
    idx: Optional[int] = None,
    log_graph: bool = False,
    run: Any = None,
) -> None:
    """Log histograms of ``models``' parameters (``log="parameters"``), gradients
    (``"gradients"``, the default) or both (``"all"``) every ``log_freq`` forward passes, under
    ``parameters/<name>`` and ``gradients/<name>``, into the current run's pending step."""
    from . import sdk

    if log not in ("gradients", "parameters", "all", None):
        raise ValueError(f"log must be 'gradients', 'parameters', 'all' or None, got {log!r}")
    if log_freq < 1:
        raise ValueError("log_freq must be at least 1")
    run = run if run is not None else sdk._need_run("watch")
    for model in models if isinstance(models, (list, tuple)) else [models]:
        if not hasattr(model, "named_parameters") or not hasattr(model, "register_forward_hook"):
            raise TypeError(f"watch() needs a torch.nn.Module, got {type(model).__name__}")
        calls = [0]

        def hook(module: Any, inputs: Any, output: Any, calls: list[int] = calls) -> None:
            calls[0] += 1
            if log is None or calls[0] % log_freq:
                return
            data: dict[str, Any] = {}
            for name, p in module.named_parameters():
                if log in ("parameters", "all"):
                    h = _histogram(p)
                    if h is not None:
                        data[f"parameters/{name}"] = h
                if log in ("gradients", "all") and getattr(p, "grad", None) is not None:
                    h = _histogram(p.grad)
                    if h is not None:
                        data[f"gradients/{name}"] = h
            if data:
                run.log(data, commit=False)

        unwatch(model)
        _hooks[id(model)] = model.register_forward_hook(hook)


def unwatch(models: Any = None) -> None:
    """Stop watching ``models`` (all watched models when ``None``)."""
    targets = (
        list(_hooks) if models is None else [id(m) for m in (models if isinstance(models, (list, tuple)) else [models])]
    )
    for key in targets:
        handle = _hooks.pop(key, None)
        if handle is not None:
            handle.remove()
