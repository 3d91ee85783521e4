"""``rsa-rules audit COHORT.jsonl --out RESULTS.parquet``: a cohort, audited.

Reads JSON Lines of facts documents (``-`` for standard input), evaluates them on worker
processes, writes the audit rows to Parquet and prints the adherence summary (patients per
rule and per alert, with percentages) as a table on standard output.

Exit status: 0 when the audit was written (records with invalid facts are error rows, not a
failure); 1 when it was written but the engine failed on some records (their error rows say
so); 2 when the input cannot be read, the output cannot be written or the knowledge base is
invalid (the message names the problem; no traceback).
"""

from __future__ import annotations

import argparse
import sys

from ..errors import KnowledgeError
from .audit import STDIN, audit_jsonl
from .parallel import DEFAULT_CHUNK_SIZE

__all__ = ["add_audit_arguments", "run_audit"]

EXIT_OK, EXIT_ENGINE_ERRORS, EXIT_INPUT = 0, 1, 2


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value


def add_audit_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``rsa-rules audit``."""
    parser.add_argument(
        "cohort", help="JSON Lines: one facts document per line (or - for standard input)"
    )
    parser.add_argument(
        "--out", required=True, help="the Parquet file to write (one row per recommendation)"
    )
    parser.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        help="worker processes (default: one per CPU)",
    )
    parser.add_argument(
        "--chunk-size",
        type=_positive_int,
        default=DEFAULT_CHUNK_SIZE,
        help=f"records per task sent to a worker (default: {DEFAULT_CHUNK_SIZE})",
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar (default: only on a terminal, for runs over two seconds)",
    )
    parser.add_argument("--rules", help="knowledge base directory (default: the bundled one)")


def run_audit(args: argparse.Namespace) -> int:
    """Run ``rsa-rules audit``; return the exit status."""
    try:
        summary = audit_jsonl(
            args.cohort,
            args.out,
            workers=args.workers,
            chunk_size=args.chunk_size,
            progress=args.progress,
            rules=args.rules,
        )
    except KnowledgeError as error:
        sys.stderr.write(f"rsa-rules: {error}\n")
        return EXIT_INPUT
    except OSError as error:
        sys.stderr.write(f"rsa-rules: {_describe(error)}\n")
        return EXIT_INPUT
    sys.stdout.write(summary.to_text())
    source = "standard input" if args.cohort == STDIN else args.cohort
    sys.stdout.write(
        f"\nwrote the audit of {summary.records:,} records from {source} to {args.out}\n"
    )
    if summary.engine_errors:
        sys.stderr.write(
            f"rsa-rules: the engine failed on {summary.engine_errors:,} records; "
            "their rows have status 'error' and no error_field\n"
        )
        return EXIT_ENGINE_ERRORS
    return EXIT_OK


def _describe(error: OSError) -> str:
    if error.filename is not None and error.strerror:
        return f"cannot use {error.filename}: {error.strerror}"
    return str(error)
