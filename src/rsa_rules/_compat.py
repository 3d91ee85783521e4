"""What differs between the Python versions rsa-rules supports (3.10 to 3.13)."""

import sys

if sys.version_info >= (3, 11):
    from importlib.resources.abc import Traversable
else:  # pragma: no cover - Python 3.10
    from importlib.abc import Traversable

__all__ = ["Traversable"]
