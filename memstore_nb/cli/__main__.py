"""``python -m memstore_nb.cli``: the ``memstore-nb`` command."""

from __future__ import annotations

import sys

from .parser import main

sys.exit(main())
