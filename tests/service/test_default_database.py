"""The service's database lives in the user's data directory, never in the working directory."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from rsa_rules.cli import main
from rsa_rules.service.settings import ServiceSettings, default_database

from .conftest import live_server

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the XDG data directory is Linux's"
)


def test_the_default_database_follows_xdg_data_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    expected = tmp_path / "data" / "rsa-rules" / "cds.sqlite3"
    assert default_database() == expected
    assert ServiceSettings(auth=False).database == expected


def test_without_xdg_data_home_it_is_under_the_home_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    database = ServiceSettings(auth=False).database
    assert database.is_absolute()
    assert database == tmp_path / ".local" / "share" / "rsa-rules" / "cds.sqlite3"


def test_serve_without_database_uses_the_data_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import uvicorn

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: seen.update(app=app))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert main(["serve", "--no-auth"]) == 0
    settings = seen["app"].state.service.settings
    assert settings.database == tmp_path / "data" / "rsa-rules" / "cds.sqlite3"


def test_a_running_service_writes_nothing_to_the_working_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    with live_server(auth=False) as server:
        assert server.settings.database == tmp_path / "data" / "rsa-rules" / "cds.sqlite3"
    assert server.settings.database.is_file()  # created, with its folder, on start
    assert list(work.iterdir()) == []
