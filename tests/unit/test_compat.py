"""What differs between the supported Python versions reads the same on each of them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from rsa_rules._compat import datetime_fromisoformat
from rsa_rules.jsontext import MAX_DEPTH, JsonTextError, loads_strict

UTC = timezone.utc


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-05-01T10:00:00Z", datetime(2026, 5, 1, 10, tzinfo=UTC)),
        ("2026-05-01T10:00:00.123z", datetime(2026, 5, 1, 10, 0, 0, 123000, tzinfo=UTC)),
        ("2026-05-01T10:00:00+00:00", datetime(2026, 5, 1, 10, tzinfo=UTC)),
        (
            "2026-05-01T12:00:00+02:00",
            datetime(2026, 5, 1, 12, tzinfo=timezone(timedelta(hours=2))),
        ),
        ("2026-05-01T10:00:00", datetime(2026, 5, 1, 10)),
    ],
)
def test_iso_timestamps_with_a_z_read_as_utc_on_every_version(
    text: str, expected: datetime
) -> None:
    parsed = datetime_fromisoformat(text)
    assert parsed == expected
    assert parsed.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize("text", ["yesterday", "Z", "", "2026-05-01T10:00:00ZZ"])
def test_what_is_not_a_timestamp_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="Invalid isoformat"):
        datetime_fromisoformat(text)


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
