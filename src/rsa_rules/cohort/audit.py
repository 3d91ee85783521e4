"""The cohort audit: JSON Lines of facts documents in, Parquet audit rows and a summary out.

:func:`audit_jsonl` reads a JSON Lines file (one facts document per line, blank lines
skipped), evaluates it with :func:`~rsa_rules.cohort.evaluate_many` on worker processes,
writes one row per patient per recommendation to Parquet (the columns of
:data:`~rsa_rules.cohort.records.ROW_COLUMNS`; patients with no recommendation and records
that could not be evaluated get one row each, so every record appears) and returns the
:class:`~rsa_rules.cohort.records.AdherenceSummary`. ``rsa-rules audit`` is this function.

The Parquet file is written beside its destination under a temporary name and moved into
place when complete: a failed or interrupted run leaves no partial file, and a run removes
what an earlier run that was killed outright (SIGKILL) left. Its schema metadata records the
rsa-rules version, the knowledge base (name, version, digest) and the source.
"""

from __future__ import annotations

import glob
import json
import os
import sys
from pathlib import Path
from typing import IO, Any

from .._version import __version__
from .parallel import DEFAULT_CHUNK_SIZE, evaluate_many
from .records import ROW_COLUMNS, AdherenceSummary, numbered_lines

__all__ = ["STDIN", "arrow_schema", "audit_jsonl"]

STDIN = "-"
"""The name that makes :func:`audit_jsonl` read standard input."""

_ROWS_PER_BATCH = 65_536


def arrow_schema(metadata: dict[str, str] | None = None) -> Any:
    """The Parquet/Arrow schema of the audit rows (needs pyarrow)."""
    import pyarrow as pa

    types = {
        "source": pa.string(),
        "line": pa.int64(),
        "patient_id": pa.string(),
        "status": pa.string(),
        "rank": pa.int64(),
        "rule_id": pa.string(),
        "rule_version": pa.int64(),
        "action": pa.string(),
        "intervention": pa.string(),
        "alert": pa.bool_(),
        "alert_certainty": pa.string(),
        "summary": pa.string(),
        "error_field": pa.string(),
        "error": pa.string(),
    }
    return pa.schema([pa.field(name, types[name]) for name in ROW_COLUMNS], metadata=metadata)


def audit_jsonl(
    source: str | Path,
    out: str | Path,
    *,
    workers: int | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: bool | None = None,
    rules: str | Path | None = None,
) -> AdherenceSummary:
    """Audit a JSON Lines cohort into a Parquet file; return the adherence summary.

    ``source`` is a file name, or ``"-"`` for standard input. ``workers`` defaults to one
    process per CPU. Raises :class:`OSError` when the source cannot be opened or the output
    cannot be written, :class:`~rsa_rules.KnowledgeError` for a bad knowledge base; invalid
    records never raise (they become error rows).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ..knowledge.loader import load_knowledge

    destination = Path(out)
    if destination.is_dir():
        raise IsADirectoryError(f"{destination} is a directory, not a file to write")
    if not destination.parent.is_dir():
        raise FileNotFoundError(f"the directory {destination.parent} does not exist")
    name = str(source)
    stream: IO[bytes] = sys.stdin.buffer if name == STDIN else open(name, "rb")  # noqa: SIM115
    try:
        knowledge = load_knowledge(None if rules is None else str(rules))
        metadata = {
            "rsa_rules.version": __version__,
            "rsa_rules.knowledge": json.dumps(
                {
                    "name": knowledge.name,
                    "version": knowledge.version,
                    "digest": knowledge.digest,
                }
            ),
            "rsa_rules.source": name,
            "rsa_rules.columns": "one row per patient per recommendation; see ROW_COLUMNS",
        }
        schema = arrow_schema(metadata)
        remove_stale_partials(destination)
        partial = destination.with_name(f".{destination.name}.{os.getpid()}.partial")
        summary = AdherenceSummary()
        try:
            with pq.ParquetWriter(partial, schema) as writer:
                rows: list[tuple[Any, ...]] = []
                results = evaluate_many(
                    numbered_lines(stream, None if name == STDIN else name),
                    workers=workers,
                    chunk_size=chunk_size,
                    progress=progress,
                    rules=rules,
                )
                for result in results:
                    summary.add(result)
                    rows.extend(result.rows())
                    if len(rows) >= _ROWS_PER_BATCH:
                        writer.write_batch(_batch(pa, rows, schema))
                        rows = []
                if rows or not summary.records:
                    writer.write_batch(_batch(pa, rows, schema))
            os.replace(partial, destination)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    return summary


def remove_stale_partials(destination: Path) -> list[Path]:
    """Remove the temporary files that killed runs left beside ``destination``.

    A run writes ``.NAME.PID.partial`` and removes it however it ends, unless it was killed
    outright (SIGKILL, power loss). A file whose process no longer exists is such a leftover;
    a file of a live process (another run in progress) is left alone. Returns what was removed.
    """
    prefix, suffix = f".{destination.name}.", ".partial"
    removed: list[Path] = []
    for path in destination.parent.glob(f"{glob.escape(prefix)}*{suffix}"):
        pid = path.name[len(prefix) : -len(suffix)]
        if pid.isdigit() and not _process_exists(int(pid)):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _process_exists(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):  # another user's process, or cannot be asked
        return True
    return True


def _batch(pa: Any, rows: list[tuple[Any, ...]], schema: Any) -> Any:
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in ROW_COLUMNS]
    return pa.record_batch(
        [pa.array(values, type=f.type) for values, f in zip(columns, schema, strict=True)],
        schema=schema,
    )
