"""Cohorts on Dask: the same evaluation and audit rows, spread over a cluster.

Each Dask worker process builds one engine, the first time a partition reaches it, and keeps
it (:func:`~rsa_rules.cohort.parallel.engine_for`). durable_rules is not thread-safe, so the
engine serialises evaluations within a process: run workers with **one thread each** and as
many worker processes as cores::

    dask scheduler
    dask worker tcp://SCHEDULER:8786 --nworkers 8 --nthreads 1     # on each machine

rsa-rules (with the ``cohort`` extra) must be installed on every worker, and the cohort
files (and a ``rules`` directory, if not the bundled one) readable from every worker: on
shared storage, or any filesystem fsspec reaches (``s3://``, ``gs://``, ``hdfs://``...).
Then, on the client::

    from distributed import Client
    from rsa_rules.cohort import on_dask

    with Client("tcp://SCHEDULER:8786") as client:
        rows = on_dask.audit_jsonl("s3://bucket/cohort/part-*.jsonl")   # a dask DataFrame
        rows.to_parquet("s3://bucket/audit/", write_index=False)
        summary = on_dask.adherence_summary(rows)    # summary.to_text(): the tables

The rows are those of ``rsa-rules audit`` (see :mod:`rsa_rules.cohort.records`): a cohort
shared out over several JSON Lines files is read one partition per file, each record
keeping its file (``source``) and line. Shard a large cohort into files of some tens of
thousands of lines each, so that the partitions spread over the workers.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Sequence
from functools import reduce
from typing import Any

from .frames import empty_audit_frame
from .parallel import engine_for
from .records import AdherenceSummary, CohortResult, Record, evaluate_record, numbered_lines

__all__ = ["adherence_summary", "audit_bag", "audit_jsonl", "evaluate_bag", "read_jsonl"]


def read_jsonl(paths: str | Sequence[str], *, storage_options: dict[str, Any] | None = None) -> Any:
    """A dask Bag of :class:`~rsa_rules.cohort.Record`, one partition per JSON Lines file.

    ``paths``: a path, a glob or a list of them, on any filesystem fsspec knows. Each record
    keeps its line number and its file (``source``, the path as fsspec names it); blank lines
    are skipped; lines are parsed where they are evaluated, so a bad line becomes an error row.
    """
    import dask.bag
    from dask.delayed import delayed

    fsspec: Any = importlib.import_module("fsspec")  # untyped; a dependency of dask
    from_delayed: Callable[..., Any] = dask.bag.from_delayed  # untyped

    files = fsspec.open_files(paths, mode="rb", **(storage_options or {}))
    if not files:
        raise FileNotFoundError(f"no file matches {paths!r}")
    return from_delayed([delayed(_read_file, pure=True)(f, f.path) for f in files])


def _read_file(open_file: Any, source: str) -> list[Record]:
    with open_file as stream:
        return list(numbered_lines(stream, source))


def _records(partition: Iterable[Any]) -> Iterable[Record]:
    # A plain document in a bag has no line: a partition's position is not the cohort's.
    for item in partition:
        yield item if isinstance(item, Record) else Record(item)


def _evaluate_partition(
    partition: Iterable[Any], rules: str | None, explain: bool
) -> list[CohortResult]:
    engine = engine_for(rules)
    return [
        evaluate_record(engine, record, index, explain=explain)
        for index, record in enumerate(_records(partition))
    ]


def _partition_rows(partition: Iterable[Any], rules: str | None) -> list[tuple[Any, ...]]:
    engine = engine_for(rules)
    return [
        row
        for index, record in enumerate(_records(partition))
        for row in evaluate_record(engine, record, index).rows()
    ]


def evaluate_bag(bag: Any, *, rules: str | None = None, explain: bool = False) -> Any:
    """A Bag of facts documents (or Records) -> a Bag of :class:`CohortResult`, in order.

    ``index`` in each result is its position within its partition.
    """
    return bag.map_partitions(_evaluate_partition, rules, explain)


def audit_bag(bag: Any, *, rules: str | None = None) -> Any:
    """A Bag of facts documents (or Records) -> a dask DataFrame of audit rows.

    The columns and dtypes are :data:`~rsa_rules.cohort.frames.DTYPES`; the index is not
    meaningful (use ``source`` and ``line``).
    """
    return bag.map_partitions(_partition_rows, rules).to_dataframe(meta=empty_audit_frame())


def audit_jsonl(
    paths: str | Sequence[str],
    *,
    rules: str | None = None,
    storage_options: dict[str, Any] | None = None,
) -> Any:
    """JSON Lines files -> a dask DataFrame of audit rows (``read_jsonl`` + ``audit_bag``)."""
    return audit_bag(read_jsonl(paths, storage_options=storage_options), rules=rules)


def adherence_summary(rows: Any) -> AdherenceSummary:
    """The adherence summary of a dask DataFrame of audit rows, computed partition by partition."""
    import dask.base
    from dask.delayed import delayed

    compute: Callable[..., Any] = dask.base.compute  # untyped
    parts = compute(*(delayed(AdherenceSummary.from_rows)(p) for p in rows.to_delayed()))
    return reduce(AdherenceSummary.merge, parts, AdherenceSummary())
