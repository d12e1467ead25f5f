"""``python -m tower_webhooks``: the same as the ``tower-webhooks`` command."""

import sys

from ._cli import main

sys.exit(main())
