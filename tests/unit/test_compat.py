"""What differs between the supported Python versions reads the same on each of them."""

from __future__ import annotations

import pytest

from rsa_rules.jsontext import MAX_DEPTH, JsonTextError, loads_strict


@pytest.mark.parametrize(
    ("depth", "refused"), [(MAX_DEPTH, False), (MAX_DEPTH + 1, True), (5_000, True)]
)
@pytest.mark.parametrize("kind", [str, bytes])
def test_json_nesting_is_limited_alike_on_every_version(
    depth: int, refused: bool, kind: type[str] | type[bytes]
) -> None:
    """Python 3.13 reads 5,000 levels where 3.10 to 3.12 give up near 1,000: one limit."""
    text = "[" * (depth - 1) + '{"a": 1}' + "]" * (depth - 1)
    document = text if kind is str else text.encode()
    if refused:
        with pytest.raises(JsonTextError, match="nested too deeply to be a test document"):
            loads_strict(document, what="a test document")
    else:
        assert loads_strict(document, what="a test document")
