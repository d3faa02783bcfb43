"""Compare turbotrack's logging with other trackers: ``python benches/compare.py --help``.

The same as ``turbotrack bench``; run from a checkout, it uses the checkout's ``python/`` folder.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    from turbotrack.bench import main
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "python"))
    from turbotrack.bench import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
