"""GPU scalars logged without making the caller wait for the GPU.

``log({"loss": loss})`` with a one-element CUDA tensor starts an asynchronous copy into pinned host
memory, records a CUDA event, and hands the core a token instead of a value. A background thread
waits for the event and sends the value; the writer holds that row (and the rows after it, to keep
their order) until it arrives. Reading the summary or finishing the run waits for values in flight.
"""

from __future__ import annotations

import itertools
import queue
import threading
import warnings
from typing import Any, Callable

#: At most this many GPU scalars in flight; more and log() waits for the oldest.
MAX_IN_FLIGHT = 4096


def is_gpu_scalar(value: Any) -> bool:
    """A one-element tensor that lives on a GPU."""
    if not getattr(value, "is_cuda", False):
        return False
    numel = getattr(value, "numel", None)
    return callable(numel) and numel() == 1


def start_copy(tensor: Any) -> Callable[[], Any]:
    """Start copying a CUDA scalar to pinned host memory; return a function that waits for the
    copy (on the calling thread) and gives the Python number."""
    import torch

    src = tensor.detach().reshape(())
    host = torch.empty((), dtype=src.dtype, pin_memory=True)
    host.copy_(src, non_blocking=True)
    done = torch.cuda.Event()
    done.record(torch.cuda.current_stream(src.device))

    def wait() -> Any:
        done.synchronize()
        return host.item()

    return wait


class Resolver:
    """Waits for GPU scalars on a thread of its own and sends their values to the run's core."""

    def __init__(self, core: Callable[[], Any]) -> None:
        self._core = core
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=MAX_IN_FLIGHT)
        self._tokens = itertools.count(1)
        self._in_flight = 0
        self._idle = threading.Condition()
        self._thread: threading.Thread | None = None
        self._warned = False

    def submit(self, tensor: Any) -> int:
        """Start reading ``tensor``; returns the token its value will be sent with."""
        wait = start_copy(tensor)
        token = next(self._tokens)
        with self._idle:
            self._in_flight += 1
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="turbotrack-gpu-scalars", daemon=True)
            self._thread.start()
        self._queue.put((token, wait))
        return token

    def _run(self) -> None:
        while True:
            token, wait = self._queue.get()
            try:
                value = wait()
            except Exception as e:  # a failed read must not stop the others
                value = float("nan")
                if not self._warned:
                    self._warned = True
                    warnings.warn(f"turbotrack could not read a GPU value; it is logged as NaN: {e}", stacklevel=1)
            try:
                self._core().resolve(token, value)
            except Exception:
                pass  # the run finished meanwhile
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until every value submitted so far was sent; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)
