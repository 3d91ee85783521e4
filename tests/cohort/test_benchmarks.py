"""The benchmark command runs and prints every figure the targets name (small counts here)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ..conftest import ROOT

FIGURES = (
    "cold start, import + engine ready (median)",
    "evaluate() median / p99, typical: 1,000 synthetic",
    "raw durable_rules direct, median / p99, typical: 1,000 synthetic",
    "raw durable_rules Host, median / p99, typical: 1,000 synthetic",
    "library overhead (evaluate - direct), typical: 1,000 synthetic",
    "bundled examples",
    "evaluate_many, 1 process (incl. start-up)",
    "evaluate_many, 2 processes (incl. start-up)",
    "audit of 2,000 patients, wall time",
    "audit throughput end to end, 2 processes",
    "RSS growth over 4,000 evaluations",
)


@pytest.mark.slow
def test_the_benchmark_command_prints_every_figure() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "run_all.py"),
            "--audit-patients",
            "2000",
            "--memory-evaluations",
            "4000",
            "--throughput-patients",
            "600",
            "--rounds",
            "200",
            "--cold-runs",
            "2",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "logical CPUs" in out
    assert "load average at start" in out
    summary = out.split("\nSummary (", 1)[1]
    for figure in FIGURES:
        assert figure in out, figure
    # The summary repeats every figure with a target, with its verdict.
    assert summary.count(" met") + summary.count("MISSED") >= 5
