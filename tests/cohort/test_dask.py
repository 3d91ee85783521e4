"""The cohort on Dask: a LocalCluster of worker processes gives the rows of the local audit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask
import dask.bag as db
import pandas as pd
import pytest

import rsa_rules
from rsa_rules.cohort import on_dask
from rsa_rules.cohort.audit import audit_jsonl
from rsa_rules.cohort.frames import DTYPES, cohort_frame, read_audit
from rsa_rules.cohort.records import AdherenceSummary

from .conftest import result_signature


@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory, mixed_cohort: list[Any]) -> list[Path]:
    """The mixed cohort in three JSON Lines files (text records only; bytes are not JSON)."""
    folder = tmp_path_factory.mktemp("shards")
    lines = [
        item if isinstance(item, str) else json.dumps(item)
        for item in mixed_cohort
        if not isinstance(item, bytes)
    ]
    paths = []
    for number in range(3):
        path = folder / f"part-{number}.jsonl"
        path.write_text("\n".join(lines[number::3]) + "\n\n", encoding="utf-8")
        paths.append(path)
    return paths


def _local_rows(paths: list[Path], tmp_path: Path) -> tuple[pd.DataFrame, AdherenceSummary]:
    frames, summary = [], AdherenceSummary()
    for path in paths:
        out = tmp_path / f"{path.stem}.parquet"
        summary = summary.merge(audit_jsonl(path, out, workers=1))
        frames.append(read_audit(out))
    return pd.concat(frames, ignore_index=True), summary


@pytest.fixture
def local_cluster() -> Iterator[Any]:
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # any free port: never clash with another cluster
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


@pytest.mark.slow
def test_a_local_cluster_gives_the_rows_of_the_local_audit(
    local_cluster: Any, shards: list[Path], tmp_path: Path
) -> None:
    assert len(local_cluster.scheduler_info()["workers"]) == 2
    rows = on_dask.audit_jsonl([str(p) for p in shards])
    computed = rows.compute().reset_index(drop=True)
    expected, summary = _local_rows(shards, tmp_path)
    pd.testing.assert_frame_equal(computed, expected)
    assert on_dask.adherence_summary(rows) == summary
    # Each worker process evaluated with its own engine.
    pids = local_cluster.run(lambda: __import__("os").getpid())
    assert len(set(pids.values())) == 2


@pytest.mark.slow
def test_a_local_cluster_evaluates_a_bag_of_documents_in_order(
    local_cluster: Any, mixed_cohort: list[Any]
) -> None:
    results = on_dask.evaluate_bag(db.from_sequence(mixed_cohort, npartitions=4)).compute()
    expected = list(rsa_rules.evaluate_many(mixed_cohort))
    assert [result_signature(r) for r in results] == [result_signature(r) for r in expected]


def test_the_dask_functions_on_the_synchronous_scheduler(
    shards: list[Path], tmp_path: Path, mixed_cohort: list[Any]
) -> None:
    with dask.config.set(scheduler="sync"):
        rows = on_dask.audit_jsonl(str(shards[0].parent / "part-*.jsonl"))
        assert dict(rows.dtypes.astype(str)) == DTYPES
        computed = rows.compute().reset_index(drop=True)
        expected, summary = _local_rows(shards, tmp_path)
        pd.testing.assert_frame_equal(computed, expected)
        assert on_dask.adherence_summary(rows) == summary
        # Plain documents in a bag carry no file and no line; their rows are the same.
        sample = mixed_cohort[:40]
        plain = on_dask.audit_bag(db.from_sequence(sample, npartitions=3)).compute()
        assert plain["line"].isna().all()
        assert plain["source"].isna().all()
        pd.testing.assert_frame_equal(
            plain.reset_index(drop=True).drop(columns="line"),
            cohort_frame(rsa_rules.evaluate_many(sample)).drop(columns="line"),
        )
        [explained] = on_dask.evaluate_bag(
            db.from_sequence(mixed_cohort[:1]), explain=True
        ).compute()
        assert explained.evaluation is not None


def test_no_matching_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no file matches"):
        on_dask.read_jsonl(str(tmp_path / "nothing-*.jsonl"))
