"""Every scenario of features/ runs against the engine, through the shipped step library."""

from __future__ import annotations

from pytest_bdd import scenarios

from ..conftest import ROOT

scenarios(str(ROOT / "features"))
