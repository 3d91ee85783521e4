"""The ``rsa-rules`` command line.

    rsa-rules evaluate FILE.json [--format text|json] [--rules DIR] [--as-of YYYY-MM-DD]
    rsa-rules why-not FILE.json INTERVENTION [--format text|json] [--rules DIR] [--as-of ...]
    rsa-rules lint [RULES_DIR]
    rsa-rules schema
    rsa-rules serve [--host HOST] [--port PORT] [...]     (the CDS Hooks service)
    rsa-rules audit COHORT.jsonl --out RESULTS.parquet   (a cohort, audited)

Exit status: 0 on success, 1 when lint finds errors, 2 on invalid input (the message names
the field; no traceback); 130 on Ctrl-C and 143 on SIGTERM (one line, after clean-up); 141,
silently, when standard output is closed early (``| head``).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

from ._version import __version__
from .engine import Engine, facts_json_schema
from .errors import FactsError, KnowledgeError, UnknownInterventionError
from .jsontext import JsonTextError, loads_strict
from .knowledge.lint import format_report, lint_knowledge
from .limits import MAX_DOCUMENT_BYTES

__all__ = ["main"]

EXIT_OK, EXIT_LINT, EXIT_INPUT = 0, 1, 2
EXIT_INTERRUPTED, EXIT_BROKEN_PIPE, EXIT_TERMINATED = 130, 141, 143


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

    schema = commands.add_parser("schema", help="print the JSON Schema of the facts document")
    schema.add_argument(
        "--rules", help="knowledge base whose interventions it lists (default: the bundled one)"
    )

    serve = commands.add_parser("serve", help="run the CDS Hooks 2.0 service")
    from .service.commandline import add_serve_arguments

    add_serve_arguments(serve)

    audit = commands.add_parser("audit", help="audit a cohort (JSON Lines) into Parquet")
    from .cohort.commandline import add_audit_arguments

    add_audit_arguments(audit)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status.

    Ctrl-C exits 130 and SIGTERM 143, each with one line on standard error and after the
    clean-up (no partial output file, worker processes stopped); a closed standard output
    (``rsa-rules evaluate ... | head``) ends the command quietly with 141.
    """
    with _terminate_as_exception():
        try:
            return _run(argv)
        except KeyboardInterrupt:
            sys.stderr.write("rsa-rules: interrupted\n")
            return EXIT_INTERRUPTED
        except _Terminated:
            sys.stderr.write("rsa-rules: terminated\n")
            return EXIT_TERMINATED
        except BrokenPipeError:
            _silence_stdout()
            return EXIT_BROKEN_PIPE


_REDELIVERY_SECONDS = 0.01
"""How soon an interruption dropped inside a weakref callback or a __del__ is raised again."""


class _Terminated(BaseException):
    """SIGTERM, raised in the main thread so that clean-up runs as for Ctrl-C."""


@contextmanager
def _terminate_as_exception() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: FrameType | None) -> None:
        raise _Terminated

    # A signal handler's exception raised while a weakref callback or a __del__ runs is
    # printed as "Exception ignored" and dropped, and the command would carry on. Such a
    # dropped interruption is raised again shortly after, from a timer, outside the code that
    # dropped it (raising it from the hook itself would be dropped too).
    previous_hook = sys.unraisablehook
    dropped: list[type[BaseException]] = []

    def redeliver(unraisable: Any) -> None:
        value = unraisable.exc_value
        if isinstance(value, _Terminated | KeyboardInterrupt):
            dropped.append(type(value))
            signal.setitimer(signal.ITIMER_REAL, _REDELIVERY_SECONDS)
        else:
            previous_hook(unraisable)

    def raise_dropped(signum: int, frame: FrameType | None) -> None:
        if dropped:
            raise dropped.pop()

    previous = signal.signal(signal.SIGTERM, terminate)
    previous_alarm = signal.signal(signal.SIGALRM, raise_dropped)
    sys.unraisablehook = redeliver
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        sys.unraisablehook = previous_hook
        signal.signal(signal.SIGALRM, previous_alarm)
        signal.signal(signal.SIGTERM, previous)


def _silence_stdout() -> None:
    """Point standard output at the null device, so that the interpreter's last flush at
    exit does not fail again on the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # not a real file (captured in tests)
        pass


# The optional dependencies of the commands, by top-level module, and the extra that brings
# each (pyproject.toml, project.optional-dependencies).
_EXTRA_OF = {
    "fastapi": "service",
    "starlette": "service",
    "uvicorn": "service",
    "jwt": "service",
    "platformdirs": "service",
    "fhir": "service",
    "fhir_core": "service",
    "pyarrow": "cohort",
    "pandas": "cohort",
    "dask": "cohort",
    "distributed": "cohort",
    "tqdm": "cohort",
    "matplotlib": "cohort",
}


def _run(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "schema":
            kb = Engine(args.rules).knowledge if args.rules else None
            print(json.dumps(facts_json_schema(kb), indent=2))
            return EXIT_OK
        if args.command in ("serve", "audit"):
            try:
                if args.command == "serve":
                    from .service.commandline import run_serve

                    return run_serve(args)
                from .cohort.commandline import run_audit

                return run_audit(args)
            except ModuleNotFoundError as error:
                extra = _EXTRA_OF.get((error.name or "").partition(".")[0])
                if extra is None:
                    raise
                print(
                    f"rsa-rules: {args.command} needs the {extra} extra (module {error.name} is "
                    f'not installed): pip install "rsa-rules[{extra}]"',
                    file=sys.stderr,
                )
                return EXIT_INPUT
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
    limit = MAX_DOCUMENT_BYTES
    try:
        if name == "-":
            stdin = getattr(sys.stdin, "buffer", None)
            data = (
                stdin.read(limit + 1)
                if stdin is not None
                else sys.stdin.read(limit + 1).encode("utf-8", "surrogateescape")
            )
        else:
            with Path(name).open("rb") as stream:
                data = stream.read(limit + 1)
        if len(data) > limit:
            raise _InputError(
                f"{name} is larger than {limit:,} bytes, the limit for a facts document"
            )
        text = data.decode("utf-8")
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
