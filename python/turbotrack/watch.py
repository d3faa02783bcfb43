"""``watch(model)``: histograms of a PyTorch model's parameters (every ``log_freq`` forward passes) and
gradients (every ``log_freq`` backward passes), logged into the current step (histograms are computed on
the model's device, so only the bin counts cross to the host)."""

from __future__ import annotations

import warnings
from typing import Any, Optional

from . import _state
from .compat.term import termwarn
from .data_types import Histogram, to_numpy

_BINS = 64
_hooks: dict[int, list[Any]] = {}


def _histogram(t: Any) -> Optional[Histogram]:
    """As wandb's watch: 64 bins from min to max (edges in float32, as ``torch.linspace`` gives them), or one
    bin holding every value when they are all equal; NaN and infinities left out."""
    if type(t).__module__.startswith("torch"):
        import torch

        flat = t.detach().float().flatten()
        flat = flat[flat.isfinite()]
        if flat.numel() == 0:
            return None
        lo, hi = float(flat.min()), float(flat.max())
        if lo == hi:
            return Histogram(np_histogram=([flat.numel()], [lo, hi]))
        counts = flat.histc(bins=_BINS, min=lo, max=hi).cpu()
        edges = torch.linspace(lo, hi, steps=_BINS + 1)
        return Histogram(np_histogram=(counts.tolist(), edges.tolist()))
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
    (``"gradients"``, the default) or both (``"all"``) under ``parameters/<name>`` and
    ``gradients/<name>``, into the current run's pending step: parameters every ``log_freq``
    forward passes of the model, each gradient every ``log_freq`` backward passes through it
    (as wandb does, so gradients are logged even when a framework never calls ``forward``).
    ``criterion``, ``idx`` and ``log_graph`` name and draw wandb's model graph (``graph_<idx>``), which
    turbotrack does not store: ``log_graph=True`` (Lightning's default) says so once on stderr."""
    run = run if run is not None else _state.need("watch")
    run.watch(models, criterion, log, log_freq, idx, log_graph)  # a disabled run's does nothing


def check_args(log: Optional[str], log_freq: int, log_graph: bool) -> None:
    """``watch()``'s arguments as wandb checks them; ``log_graph=True`` is said once to do nothing here."""
    if log not in ("gradients", "parameters", "all", None):
        raise ValueError(f"log must be 'gradients', 'parameters', 'all' or None, got {log!r}")
    if log_freq < 1:
        raise ValueError("log_freq must be at least 1")
    if log_graph:
        termwarn("watch(log_graph=True): turbotrack stores no model graph; histograms only", repeat=False)


def watch_run(run: Any, hush: Any, models: Any, log: Optional[str], log_freq: int) -> None:
    """Hook ``models`` to log into ``run``; ``hush(names)`` tells its core not to warn about those names."""
    for model in models if isinstance(models, (list, tuple)) else [models]:
        if not hasattr(model, "named_parameters") or not hasattr(model, "register_forward_hook"):
            raise TypeError(f"watch() needs a torch.nn.Module, got {type(model).__name__}")
        unwatch(model)
        handles: list[Any] = []
        if log in ("parameters", "all"):
            calls = [0]

            def forward_hook(module: Any, inputs: Any, output: Any, calls: list[int] = calls) -> None:
                calls[0] += 1
                if calls[0] % log_freq:
                    return
                data = {}
                for name, p in module.named_parameters():
                    h = _histogram(p)
                    if h is not None:
                        data[f"parameters/{name}"] = h
                _log(run, hush, data)

            handles.append(model.register_forward_hook(forward_hook))
        if log in ("gradients", "all"):
            for name, p in model.named_parameters():
                if getattr(p, "requires_grad", False):
                    handles.append(p.register_hook(_gradient_hook(run, hush, f"gradients/{name}", log_freq)))
        _hooks[id(model)] = handles


def _gradient_hook(run: Any, hush: Any, key: str, log_freq: int) -> Any:
    calls = [0]

    def hook(grad: Any) -> None:
        calls[0] += 1
        if calls[0] % log_freq == 0:
            h = _histogram(grad)
            if h is not None:
                _log(run, hush, {key: h})

    return hook


_refused: set[int] = set()


def _log(run: Any, hush: Any, data: dict[str, Any]) -> None:
    """Log watch histograms into the pending step. Their names are PyTorch's (``net.2.weight``), as in
    wandb, and break turbotrack's naming rule where a part starts with a digit: they are logged without
    the per-name notice; with ``metric_names="strict"`` they are refused and watch warns once."""
    if not data:
        return
    if hush is not None:
        hush(list(data))
    try:
        run.log(data, commit=False)
    except ValueError as e:
        if id(run) not in _refused:
            _refused.add(id(run))
            warnings.warn(f"watch(): histograms not logged: {e}", stacklevel=2)


def unwatch(models: Any = None) -> None:
    """Stop watching ``models`` (all watched models when ``None``)."""
    targets = (
        list(_hooks) if models is None else [id(m) for m in (models if isinstance(models, (list, tuple)) else [models])]
    )
    for key in targets:
        for handle in _hooks.pop(key, []):
            handle.remove()
