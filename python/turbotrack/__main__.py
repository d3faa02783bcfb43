"""``python -m turbotrack`` is the ``turbotrack`` command."""

import sys

from .cli import main

sys.exit(main())
