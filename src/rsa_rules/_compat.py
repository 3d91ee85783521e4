"""What differs between the Python versions rsa-rules supports (3.10 to 3.13)."""

import sys
from datetime import datetime

if sys.version_info >= (3, 11):
    from importlib.resources.abc import Traversable
else:  # pragma: no cover - Python 3.10
    from importlib.abc import Traversable

__all__ = ["Traversable", "datetime_fromisoformat"]


def datetime_fromisoformat(text: str) -> datetime:
    """``datetime.fromisoformat``, reading a trailing ``Z`` as UTC on 3.10 too (as 3.11 does)."""
    if text[-1:] in ("Z", "z") and text[-2:-1].isdigit():
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text)
