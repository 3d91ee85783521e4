"""Benchmark ``evaluate()`` on the bundled examples: median, p99 and evaluations per second.

    python benchmarks/bench_evaluate.py [--rounds N]

Prints, per example and over all of them: the median and p99 time of one ``evaluate()``
(validation, fact derivation, durable_rules, results), the same with every explanation
built (``to_dict()``), the time inside durable_rules alone (direct dispatch, and
durable_rules' own ``Host`` dispatch for comparison), and evaluations per second on one
core. Target: median ``evaluate()`` at most 300 microseconds on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import rsa_rules
from rsa_rules.engine import validate_facts

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TARGET_MEDIAN_US = 300.0


def timings(call: Callable[[], Any], rounds: int, warmup: int | None = None) -> list[float]:
    """Seconds taken by each of ``rounds`` calls, after ``warmup`` untimed calls
    (default: as many as the rounds, at most 500)."""
    for _ in range(min(rounds, 500) if warmup is None else warmup):
        call()
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        out.append(time.perf_counter() - start)
    return out


def median_p99_us(values: Sequence[float]) -> tuple[float, float]:
    """Median and 99th percentile, in microseconds."""
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered) * 1e6, p99 * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5_000)
    args = parser.parse_args()
    engine = rsa_rules.default_engine()
    examples = {p.stem: json.loads(p.read_text()) for p in sorted(EXAMPLES.glob("*.json"))}
    print(f"rsa-rules {rsa_rules.__version__}, knowledge base {engine.knowledge.version}")
    cpu = platform.processor() or "cpu"
    print(f"python {platform.python_version()} on {platform.machine()}, {cpu}")
    columns = ("evaluate", "+explanations", "durable direct", "durable host")
    units = ("median / p99 us", "median / p99 us", "median us", "median us")
    widths = (18, 18, 16, 14)
    print(f"{'example':36} " + " ".join(f"{c:>{w}}" for c, w in zip(columns, widths, strict=True)))
    print(f"{'':36} " + " ".join(f"{u:>{w}}" for u, w in zip(units, widths, strict=True)))
    all_eval: list[float] = []
    for name, doc in examples.items():
        derived = engine.derive(validate_facts(doc))
        ev = timings(lambda d=doc: engine.evaluate(d), args.rounds)
        full = timings(lambda d=doc: engine.evaluate(d).to_dict(), max(1_000, args.rounds // 5))
        direct = timings(lambda d=derived: engine.run_rules(d), args.rounds)
        host = timings(
            lambda d=derived: engine.run_rules(d, dispatch="host"), max(1_000, args.rounds // 5)
        )
        all_eval.extend(ev)
        m, p = median_p99_us(ev)
        fm, fp = median_p99_us(full)
        print(
            f"{name:36} {m:8.0f} / {p:6.0f}  {fm:8.0f} / {fp:6.0f}  "
            f"{median_p99_us(direct)[0]:14.0f}  {median_p99_us(host)[0]:12.0f}"
        )
    median, p99 = median_p99_us(all_eval)
    rate = len(all_eval) / sum(all_eval)
    print()
    print(
        f"all examples: evaluate() median {median:.0f} us, p99 {p99:.0f} us, "
        f"{rate:,.0f} evaluations/s on one core"
    )
    verdict = "meets" if median <= TARGET_MEDIAN_US else "MISSES"
    print(f"target median <= {TARGET_MEDIAN_US:.0f} us: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
