"""``python -m rsa_rules``: the same as the ``rsa-rules`` command."""

import sys

from .cli import main

sys.exit(main())
