"""``evaluate_many``: a cohort evaluated in order, streaming, on several processes.

durable_rules is not thread-safe, so a cohort scales out with processes: each worker
process builds its own engine once (started with the ``spawn`` method, so no worker
inherits the parent's durable_rules state) and evaluates chunks of records. Chunks are
submitted through a bounded window and their results are yielded in input order, so memory
stays flat however long the input is, and a slow consumer holds the workers back instead of
piling up results.

Every input record gives exactly one :class:`~rsa_rules.cohort.records.CohortResult`:
invalid facts give an error result naming the field and the run goes on. A chunk that
cannot be sent to a worker (a record holding objects that cannot be pickled) is evaluated
in the calling process instead, so it too gives its results. A worker process that dies
(killed, out of memory) stops the run with :class:`concurrent.futures.process.BrokenProcessPool`
rather than lose records silently.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sized
from concurrent.futures import Future
from contextlib import contextmanager
from datetime import date
from functools import partial
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .records import CohortResult, evaluate_record

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor
    from types import FrameType

    from ..engine import Engine

__all__ = ["DEFAULT_CHUNK_SIZE", "evaluate_many"]

DEFAULT_CHUNK_SIZE = 256
"""Records per task sent to a worker process: large enough to amortise the round trip."""

_IN_FLIGHT_PER_WORKER = 3
_PROGRESS_DELAY_S = 2.0  # the automatic progress bar appears only on runs longer than this

_ENGINES: dict[str | None, Engine] = {}
_ENGINES_LOCK = threading.Lock()


def engine_for(rules: str | None) -> Engine:
    """This process's engine for a knowledge base (``None``: the default one), built once."""
    engine = _ENGINES.get(rules)
    if engine is None:
        with _ENGINES_LOCK:
            engine = _ENGINES.get(rules)
            if engine is None:
                from ..engine import Engine, default_engine

                engine = default_engine() if rules is None else Engine(rules)
                _ENGINES[rules] = engine
    return engine


def evaluate_many(
    facts: Iterable[Any],
    workers: int | None = 1,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: bool | None = None,
    total: int | None = None,
    explain: bool = False,
    rules: str | Path | None = None,
    as_of: date | None = None,
) -> Iterator[CohortResult]:
    """Evaluate a cohort; yield one :class:`CohortResult` per record, in input order.

    ``facts`` is any iterable (it is read lazily) of facts documents: dicts,
    :class:`~rsa_rules.PatientFacts`, JSON texts of one document, or
    :class:`~rsa_rules.cohort.Record` (a document with its file and line).

    ``workers``: the number of processes; 1 (the default) evaluates in this process, ``None``
    uses one per CPU. Worker processes are started with ``spawn``: a script that calls this
    with ``workers > 1`` must do so under ``if __name__ == "__main__":``.
    ``chunk_size``: records per task sent to a worker.
    ``progress``: a progress bar on standard error (needs tqdm); ``None`` (the default) shows
    one only when standard error is a terminal and the run lasts more than two seconds.
    ``total``: the number of records, for the progress bar (default: ``len(facts)`` when it
    has one). ``explain``: also return each evaluation as a dict with every explanation
    (:meth:`~rsa_rules.Evaluation.to_dict`; much slower). ``rules``: a knowledge base
    directory (default: the bundled one). ``as_of``: the evaluation date (default: today, fixed
    when the run starts); a result or loss dated after it makes that record invalid.

    Invalid facts never raise: they give a result whose ``error`` names the field.
    """
    count = _worker_count(workers)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, not {chunk_size!r}")
    rules_dir = None if rules is None else str(rules)
    day = as_of or date.today()
    if rules_dir is not None:
        from ..knowledge.loader import load_knowledge

        load_knowledge(rules_dir)  # a bad knowledge base fails here, clearly, not in a worker
    if total is None and isinstance(facts, Sized):
        total = len(facts)
    bar = _progress_bar(progress, total)
    results = (
        _in_process(facts, chunk_size, explain, rules_dir, day)
        if count == 1
        else _on_processes(facts, count, chunk_size, explain, rules_dir, day)
    )
    return _with_progress(results, bar)


def _worker_count(workers: int | None) -> int:
    if workers is None:
        return max(1, os.cpu_count() or 1)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer or None, not {workers!r}")
    return workers


def _chunks(facts: Iterable[Any], size: int) -> Iterator[tuple[int, list[Any]]]:
    iterator = iter(facts)
    start = 0
    while chunk := list(islice(iterator, size)):
        yield start, chunk
        start += len(chunk)


def evaluate_chunk(
    engine: Engine, start: int, chunk: list[Any], explain: bool, as_of: date | None = None
) -> list[CohortResult]:
    """Evaluate records ``start``, ``start + 1``, ... of a cohort."""
    return [
        evaluate_record(engine, item, start + offset, explain=explain, as_of=as_of)
        for offset, item in enumerate(chunk)
    ]


def _in_process(
    facts: Iterable[Any], size: int, explain: bool, rules: str | None, as_of: date
) -> Generator[list[CohortResult], None, None]:
    engine = engine_for(rules)
    for start, chunk in _chunks(facts, size):
        yield evaluate_chunk(engine, start, chunk, explain, as_of)


# -- worker processes --------------------------------------------------------------------

_WORKER_RULES: list[str | None] = [None]


def _start_worker(rules: str | None, parent: int | None = None) -> None:
    """Initialise a worker process: end with its parent, leave Ctrl-C to the parent, and
    build its one engine before the first chunk arrives."""
    if parent is not None:  # a worker process (not a direct call, e.g. in a test)
        watch_parent(parent)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the pool on Ctrl-C
    _WORKER_RULES[0] = rules
    engine_for(rules)


_PARENT_POLL_S = 0.2
_WORKER_JOIN_S = 5.0


def watch_parent(parent: int) -> None:
    """End this process as soon as ``parent`` (its parent process) is gone, however it ended.

    A parent stopped by SIGKILL runs no clean-up, so a worker must notice by itself: a daemon
    thread checks every 0.2 s whether the process has been handed to another parent, and
    exits if so. (Linux's ``PR_SET_PDEATHSIG`` is not used: it fires when the *thread* that
    started the worker ends, which need not be when the parent process ends.)
    """
    if os.getppid() != parent:  # pragma: no cover - the parent ended before the watch was set
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_PARENT_POLL_S)
        os._exit(1)  # pragma: no cover - in a worker whose parent is gone (tested by PID)

    threading.Thread(target=watch, name="rsa-rules-parent-watch", daemon=True).start()


def _worker_chunk(start: int, payload: bytes, explain: bool, as_of: date) -> list[CohortResult]:
    """Evaluate a pickled chunk in a worker process."""
    chunk: list[Any] = pickle.loads(payload)  # noqa: S301 - sent by our own parent process
    return evaluate_chunk(engine_for(_WORKER_RULES[0]), start, chunk, explain, as_of)


def _on_processes(
    facts: Iterable[Any], workers: int, size: int, explain: bool, rules: str | None, as_of: date
) -> Generator[list[CohortResult], None, None]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_worker,
        initargs=(rules, os.getpid()),
    )
    pending: deque[Future[list[CohortResult]] | list[CohortResult]] = deque()
    window = workers * _IN_FLIGHT_PER_WORKER
    try:
        for start, chunk in _chunks(facts, size):
            try:
                payload = pickle.dumps(chunk, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # noqa: BLE001 - such records are evaluated here instead
                pending.append(evaluate_chunk(engine_for(rules), start, chunk, explain, as_of))
            else:
                with _signals_deferred():  # a worker half-spawned would print a traceback
                    submitted = pool.submit(_worker_chunk, start, payload, explain, as_of)
                pending.append(submitted)
            while len(pending) >= window:
                yield _done(pending.popleft())
        while pending:
            yield _done(pending.popleft())
    finally:
        for item in pending:
            if isinstance(item, Future):
                item.cancel()
        with _signals_deferred():
            _shutdown(pool)


_DEFERRED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM while the pool starts or stops a worker, then deliver them.

    A signal handled in the middle of spawning a worker (its start-up data half sent) or of
    starting the pool's manager thread leaves a process that prints a traceback or a thread
    that can never be joined. Here such a signal is noted and raised again, to whatever
    handler was in place, as soon as the step is done. Signals can only be handled in the
    main thread, so elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def note(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    previous = {
        signum: signal.signal(signum, note)
        for signum in _DEFERRED_SIGNALS
        if signal.getsignal(signum) is not None  # a handler set outside Python stays
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for held in dict.fromkeys(received):
            signal.raise_signal(held)


def _shutdown(pool: ProcessPoolExecutor) -> None:
    """Stop the pool and its worker processes, even when it was interrupted while starting.

    A signal (Ctrl-C, SIGTERM) that arrives inside the first ``submit`` can leave the pool's
    manager thread created but never started; ``shutdown`` then raises ``RuntimeError`` on
    joining it, and the workers it spawned would wait for work until they noticed their
    parent had gone. They are ended here instead, so the interruption itself propagates.
    """
    processes = list((getattr(pool, "_processes", None) or {}).values())
    try:
        pool.shutdown(wait=True, cancel_futures=True)
    except RuntimeError:
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(timeout=_WORKER_JOIN_S)


def _done(item: Future[list[CohortResult]] | list[CohortResult]) -> list[CohortResult]:
    return item.result() if isinstance(item, Future) else item


# -- progress ----------------------------------------------------------------------------


def _progress_bar(progress: bool | None, total: int | None) -> Callable[[], Any] | None:
    """A function that opens the progress bar when the run starts, or None for no bar."""
    if progress is False:
        return None
    if progress is None and not _stderr_is_terminal():
        return None
    try:
        from tqdm import tqdm
    except ImportError as error:  # pragma: no cover - tqdm comes with rsa-rules[cohort]
        if progress is None:
            return None
        raise ImportError("progress=True needs tqdm: pip install 'rsa-rules[cohort]'") from error
    delay = _PROGRESS_DELAY_S if progress is None else 0.0
    return partial(
        tqdm, total=total, unit="patient", file=sys.stderr, delay=delay, dynamic_ncols=True
    )


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr is not None and sys.stderr.isatty()
    except (AttributeError, ValueError):  # a replaced or closed stream
        return False


def _with_progress(
    chunks: Generator[list[CohortResult], None, None], open_bar: Callable[[], Any] | None
) -> Iterator[CohortResult]:
    bar = None if open_bar is None else open_bar()
    try:
        for results in chunks:
            yield from results
            if bar is not None:
                bar.update(len(results))
    finally:
        chunks.close()  # stop the workers now when the consumer stops early
        if bar is not None:
            bar.close()
