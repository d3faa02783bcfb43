"""What automatic capture costs: Capture.start() (paid in init()), stop(), and one system sample.

    python benches/init_overhead.py [--repeats 30] [--no-console]

Prints medians (p50) in milliseconds and the sampler's CPU use at the default 10 s interval as a
percentage of one core. The budget is < 150 ms added to init() and < 1 % of a core for sampling.
stop() includes waiting for the background threads (git, GPU probe, requirements) that a run this
short has not given time to finish, so it is much more than a long run's stop() costs.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--samples", type=int, default=200, help="system samples to time")
    parser.add_argument("--no-console", action="store_true", help="leave stdout/stderr alone")
    args = parser.parse_args(argv)

    began = time.perf_counter()
    importlib.import_module("turbotrack")
    package_ms = (time.perf_counter() - began) * 1e3
    began = time.perf_counter()
    capture = importlib.import_module("turbotrack.capture")
    import_ms = (time.perf_counter() - began) * 1e3
    from turbotrack.capture.gpu import SharedProbe
    from turbotrack.capture.system import SystemSampler
    from turbotrack.settings import Settings

    settings = Settings(capture_stdout=not args.no_console)
    start_ms, stop_ms, total_ms = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            cap = capture.Capture(Path(tmp) / f"run{i}", settings, lambda row: None, {"id": f"bench{i}"})
            t0 = time.perf_counter()
            cap.start()
            t1 = time.perf_counter()
            cap.stop()
            t2 = time.perf_counter()
            start_ms.append((t1 - t0) * 1e3)
            stop_ms.append((t2 - t1) * 1e3)
            total_ms.append((t2 - t0) * 1e3)

        probe = SharedProbe(lambda *a, **k: None)
        sampler = SystemSampler(lambda row: None, 10.0, probe, lambda *a, **k: None, Path(tmp))
        sampler._prime()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for _ in range(args.samples):
            sampler.sample()
        cpu_per_sample = (time.process_time() - cpu0) / args.samples
        wall_per_sample = (time.perf_counter() - wall0) / args.samples
        gpus = probe.get()
        probe.close()

    def p50(values: list[float]) -> str:
        return f"{statistics.median(values):8.2f} ms"

    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"gpus: {gpus.names or 'none'} (source: {gpus.source})")
    print(f"import turbotrack (the package)     {package_ms:8.2f} ms")
    print(f"then import turbotrack.capture     {import_ms:8.2f} ms")
    print(f"Capture.start()          p50 {p50(start_ms)}   (max {max(start_ms):.2f} ms)")
    print(f"Capture.stop()           p50 {p50(stop_ms)}")
    print(f"start() + stop()         p50 {p50(total_ms)}   over {args.repeats} repeats")
    print(
        f"one system sample        {wall_per_sample * 1e3:8.3f} ms wall, "
        f"{cpu_per_sample * 1e3:.3f} ms CPU -> "
        f"{cpu_per_sample / 10.0 * 100:.4f} % of a core at the default 10 s interval"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
