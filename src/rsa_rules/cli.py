"""The ``rsa-rules`` command line.

    rsa-rules evaluate FILE.json [--format text|json] [--rules DIR] [--as-of YYYY-MM-DD]
    rsa-rules why-not FILE.json INTERVENTION [--format text|json] [--rules DIR] [--as-of ...]
    rsa-rules lint [RULES_DIR]
    rsa-rules schema
    rsa-rules serve [--host HOST] [--port PORT] [...]     (the CDS Hooks service)
    rsa-rules audit COHORT.jsonl --out RESULTS.parquet   (a cohort, audited)

Exit status: 0 on success, 1 when lint finds errors, 2 on invalid input (the message names
the field; no traceback).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

from ._version import __version__
from .engine import Engine
from .errors import FactsError, KnowledgeError, UnknownInterventionError
from .jsontext import JsonTextError, loads_strict
from .knowledge.lint import format_report, lint_knowledge
from .models.facts import PatientFacts

__all__ = ["main"]

EXIT_OK, EXIT_LINT, EXIT_INPUT = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_INPUT, f"rsa-rules: error: {message}\n")


_AS_OF_HELP = "evaluation date, YYYY-MM-DD (default: today); later dates in the facts are errors"


def _as_of(text: str) -> date:
    try:
        if len(text) != len("YYYY-MM-DD"):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date in the form YYYY-MM-DD") from None


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rsa-rules",
        description="Explainable clinical decision support for recurrent pregnancy loss.",
    )
    parser.add_argument("--version", action="version", version=f"rsa-rules {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    evaluate = commands.add_parser("evaluate", help="evaluate one patient's facts (JSON)")
    evaluate.add_argument("file", help="facts document (JSON), or - for standard input")
    evaluate.add_argument("--format", choices=("text", "json"), default="text")
    evaluate.add_argument("--rules", help="knowledge base directory (default: the bundled one)")
    evaluate.add_argument("--as-of", type=_as_of, help=_AS_OF_HELP)

    why = commands.add_parser("why-not", help="why an intervention is, or is not, advised")
    why.add_argument("file", help="facts document (JSON), or - for standard input")
    why.add_argument("intervention", help="an intervention id, e.g. heparin-plus-low-dose-aspirin")
    why.add_argument("--format", choices=("text", "json"), default="text")
    why.add_argument("--rules", help="knowledge base directory (default: the bundled one)")
    why.add_argument("--as-of", type=_as_of, help=_AS_OF_HELP)

    lint = commands.add_parser("lint", help="validate and prove a knowledge base")
    lint.add_argument("rules_dir", nargs="?", help="directory (default: the bundled one)")

    commands.add_parser("schema", help="print the JSON Schema of the facts document")

    serve = commands.add_parser("serve", help="run the CDS Hooks 2.0 service")
    from .service.commandline import add_serve_arguments

    add_serve_arguments(serve)

    audit = commands.add_parser("audit", help="audit a cohort (JSON Lines) into Parquet")
    from .cohort.commandline import add_audit_arguments

    add_audit_arguments(audit)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "schema":
            print(json.dumps(PatientFacts.model_json_schema(), indent=2))
            return EXIT_OK
        if args.command == "serve":
            from .service.commandline import run_serve

            return run_serve(args)
        if args.command == "audit":
            from .cohort.commandline import run_audit

            return run_audit(args)
        if args.command == "lint":
            report = lint_knowledge(args.rules_dir)
            for line in format_report(report, args.rules_dir or "bundled knowledge base"):
                print(line, file=sys.stdout if line.startswith("ok") else sys.stderr)
            return EXIT_OK if report.ok else EXIT_LINT
        engine = Engine(args.rules)
        evaluation = engine.evaluate(_read_facts(args.file), args.as_of)
        if args.command == "evaluate":
            print(evaluation.to_json() if args.format == "json" else evaluation.to_text(), end="")
            if args.format == "json":
                print()
            return EXIT_OK
        answer = evaluation.why_not(args.intervention)
        if args.format == "json":
            print(json.dumps(answer.model_dump(mode="json"), indent=2, ensure_ascii=False))
        else:
            print(answer.to_text(), end="")
        return EXIT_OK
    except (FactsError, KnowledgeError, UnknownInterventionError, _InputError) as error:
        print(f"rsa-rules: {error}", file=sys.stderr)
        return EXIT_INPUT


class _InputError(Exception):
    """A file that cannot be read as a facts document."""


def _read_facts(name: str) -> Any:
    try:
        text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    except OSError as error:
        raise _InputError(f"cannot read {name}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise _InputError(f"{name} is not UTF-8 text") from None
    try:
        return loads_strict(text)
    except JsonTextError as error:
        raise _InputError(f"{name}: {error}") from None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
