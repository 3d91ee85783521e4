"""Every speed and memory figure of rsa-rules, in one command, against its target.

    python benchmarks/run_all.py            # the full run: about 12 minutes on 2 cores
    python benchmarks/run_all.py --quick    # smaller counts, about a minute (figures marked)

Prints, with the machine it ran on:

1. cold start: ``import rsa_rules`` plus ``default_engine()`` ready, in a fresh process;
2. one ``evaluate()``: median and p99 for a typical patient (synthetic patients, and the
   bundled examples), beside the time spent inside durable_rules for the same facts, raw:
   ``direct`` (the rules alone, as the engine runs them) and ``host`` (durable_rules' own
   ``Host.assert_fact`` and dispatcher); the library's own overhead is the difference;
3. cohort throughput: ``evaluate_many`` on 1 and on 2 processes (JSON text in, results out);
4. the audit end to end: ``rsa-rules audit`` on 1,000,000 synthetic patients (JSON Lines in,
   Parquet and the summary out) on 2 processes;
5. memory: RSS growth over 1,000,000 ``evaluate()`` calls in one process;
6. scaling: ``evaluate()`` and the FHIR reader as their input grows tenfold
   (``bench_scaling.py``; ``--no-scaling`` skips it).

Targets (a 2-core machine): median ``evaluate()`` <= 300 us and overhead <= durable_rules
time; >= 3,000 patients/s on 2 processes; 1,000,000 audited in < 10 minutes; RSS growth
<= 10 MB; cold start <= 0.5 s. The machine's load average is printed: on a shared machine,
other work slows every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import psutil

import rsa_rules

# The timing helpers of the single-evaluation benchmark, beside this file.
from bench_evaluate import median_p99_us, timings
from rsa_rules.engine import validate_facts
from rsa_rules.synthetic import synthetic_patients

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

TARGET_MEDIAN_US = 300.0
TARGET_THROUGHPUT = 3_000.0
TARGET_AUDIT_S = 600.0
TARGET_AUDIT_PATIENTS = 1_000_000
TARGET_RSS_MB = 10.0
TARGET_MEMORY_EVALUATIONS = 1_000_000
TARGET_COLD_S = 0.5

_COLD = (
    "import time; t = time.perf_counter(); import rsa_rules; rsa_rules.default_engine(); "
    "print(time.perf_counter() - t)"
)


class Report:
    """Figures as they are measured, and the verdicts at the end."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []

    def add(self, figure: str, value: str, target: str = "", met: bool | None = None) -> None:
        verdict = "" if met is None else ("met" if met else "MISSED")
        self.rows.append((figure, value, target, verdict))
        print(f"  {figure}: {value}" + (f"  (target {target}: {verdict})" if target else ""))
        sys.stdout.flush()

    def table(self) -> str:
        """The figures that have a target, with their verdicts."""
        rows = [r for r in self.rows if r[2]]
        header = ("figure", "value", "target", "verdict")
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
        line = "  ".join("-" * w for w in widths)
        out = [
            "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)),
            line,
        ]
        out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
        return "\n".join(x.rstrip() for x in out)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = psutil.virtual_memory().total / 2**30
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{platform.system()} {platform.release()} on {platform.machine()}, {cpu}, "
        f"{os.cpu_count()} logical CPUs, {memory:.1f} GiB RAM\n"
        f"python {platform.python_version()}, rsa-rules {rsa_rules.__version__}, "
        f"knowledge base {rsa_rules.default_engine().knowledge.version}\n"
        f"load average at start (1, 5, 15 min): {load}"
    )


# -- 1. cold start -----------------------------------------------------------------------


def cold_start(report: Report, runs: int) -> None:
    print("\n1. cold start (import rsa_rules + default_engine(), fresh process)")
    inside, whole = [], []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(  # noqa: S603 - this interpreter, our own code
            [sys.executable, "-c", _COLD], capture_output=True, text=True, check=True
        )
        whole.append(time.perf_counter() - start)
        inside.append(float(done.stdout))
    cold = statistics.median(inside)
    report.add(
        "cold start, import + engine ready (median)",
        f"{cold:.3f} s",
        f"<= {TARGET_COLD_S} s",
        cold <= TARGET_COLD_S,
    )
    report.add("  the same with interpreter start-up", f"{statistics.median(whole):.3f} s")


# -- 2. one evaluate() -------------------------------------------------------------------


def single(report: Report, rounds: int, typical: int) -> None:
    print("\n2. one evaluate(): the library against raw durable_rules, same facts")
    engine = rsa_rules.default_engine()
    examples = [json.loads(p.read_text()) for p in sorted(EXAMPLES.glob("*.json"))]
    groups = {
        f"typical: {typical:,} synthetic": list(synthetic_patients(typical, seed=2026)),
        f"{len(examples)} bundled examples": examples,
    }
    for label, docs in groups.items():
        derived = [engine.derive(validate_facts(d)) for d in docs]
        per = max(1, rounds // len(docs))
        for doc in docs:  # warm up
            engine.evaluate(doc)
        evaluate: list[float] = []
        direct: list[float] = []
        host: list[float] = []
        validate: list[float] = []
        derive: list[float] = []
        for _ in range(per):
            for doc, facts in zip(docs, derived, strict=True):
                evaluate += timings(lambda d=doc: engine.evaluate(d), 1, warmup=0)
                direct += timings(lambda f=facts: engine.run_rules(f), 1, warmup=0)
                host += timings(lambda f=facts: engine.run_rules(f, dispatch="host"), 1, warmup=0)
                validate += timings(lambda d=doc: validate_facts(d), 1, warmup=0)
                patient = validate_facts(doc)
                derive += timings(lambda p=patient: engine.derive(p), 1, warmup=0)
        median, p99 = median_p99_us(evaluate)
        direct_median, direct_p99 = median_p99_us(direct)
        host_median, host_p99 = median_p99_us(host)
        overhead = median - direct_median
        print(f" {label} ({len(evaluate):,} calls each)")
        typical_group = label.startswith("typical")
        report.add(
            f"evaluate() median / p99, {label}",
            f"{median:.0f} / {p99:.0f} us",
            f"median <= {TARGET_MEDIAN_US:.0f} us" if typical_group else "",
            median <= TARGET_MEDIAN_US if typical_group else None,
        )
        report.add(
            f"raw durable_rules direct, median / p99, {label}",
            f"{direct_median:.0f} / {direct_p99:.0f} us",
        )
        report.add(
            f"raw durable_rules Host, median / p99, {label}",
            f"{host_median:.0f} / {host_p99:.0f} us",
        )
        report.add(
            f"library overhead (evaluate - direct), {label}",
            f"{overhead:.0f} us ({overhead / direct_median:.2f} x direct, "
            f"{overhead / host_median:.2f} x host)",
            "<= durable_rules time" if typical_group else "",
            overhead <= direct_median if typical_group else None,
        )
        report.add(
            f"  of which validation / fact derivation, {label}",
            f"{median_p99_us(validate)[0]:.0f} / {median_p99_us(derive)[0]:.0f} us",
        )


# -- 3. throughput -----------------------------------------------------------------------


def throughput(report: Report, count: int) -> None:
    print(f"\n3. cohort throughput: evaluate_many over {count:,} synthetic patients (JSON text)")
    lines = [json.dumps(d) for d in synthetic_patients(count, seed=7)]
    start = time.perf_counter()
    list(rsa_rules.evaluate_many(lines[:1], workers=2, progress=False))
    report.add(
        "start-up of 2 worker processes (spawn, engines ready)",
        f"{time.perf_counter() - start:.2f} s",
    )
    for workers in (1, 2):
        start = time.perf_counter()
        done = sum(1 for _ in rsa_rules.evaluate_many(lines, workers=workers, progress=False))
        elapsed = time.perf_counter() - start
        assert done == count
        rate = count / elapsed
        is_two = workers == 2
        report.add(
            f"evaluate_many, {workers} process{'es' if is_two else ''} (incl. start-up)",
            f"{rate:,.0f} patients/s",
            f">= {TARGET_THROUGHPUT:,.0f}/s" if is_two else "",
            rate >= TARGET_THROUGHPUT if is_two else None,
        )


# -- 4. the audit, end to end ------------------------------------------------------------


def audit(report: Report, count: int, folder: Path) -> None:
    print(f"\n4. rsa-rules audit, end to end: {count:,} synthetic patients, 2 processes")
    cohort = folder / "cohort.jsonl"
    start = time.perf_counter()
    _write_cohort(cohort, count)
    size = cohort.stat().st_size / 2**20
    print(f"  (wrote the cohort, {size:,.0f} MiB, in {time.perf_counter() - start:.0f} s)")
    out = folder / "audit.parquet"
    command = [sys.executable, "-m", "rsa_rules", "audit", str(cohort), "--out", str(out)]
    command += ["--workers", "2", "--no-progress"]
    start = time.perf_counter()
    process = psutil.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    while process.poll() is None:
        peak = max(peak, _tree_rss(process))
        time.sleep(0.5)
    elapsed = time.perf_counter() - start
    stdout, stderr = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"rsa-rules audit failed ({process.returncode}): {stderr}")
    rows = _parquet_rows(out)
    rate = count / elapsed
    full = count >= TARGET_AUDIT_PATIENTS
    scaled = (
        f" (x{TARGET_AUDIT_PATIENTS / count:.0f} = {elapsed * TARGET_AUDIT_PATIENTS / count:.0f} s)"
    )
    report.add(
        f"audit of {count:,} patients, wall time",
        f"{elapsed:.1f} s{'' if full else scaled}",
        f"< {TARGET_AUDIT_S:.0f} s for 1,000,000" if full else "",
        elapsed < TARGET_AUDIT_S if full else None,
    )
    report.add(
        "audit throughput end to end, 2 processes",
        f"{rate:,.0f} patients/s",
        f">= {TARGET_THROUGHPUT:,.0f}/s",
        rate >= TARGET_THROUGHPUT,
    )
    report.add(
        "audit output",
        f"{rows:,} rows, {out.stat().st_size / 2**20:,.1f} MiB Parquet; "
        f"peak RSS of the 3 processes {peak / 2**20:,.0f} MiB",
    )
    first = stdout.splitlines()[0] if stdout else ""
    print(f"  ({first})")


def _write_cohort(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8") as stream:
        batch: list[str] = []
        for doc in synthetic_patients(count, seed=2024):
            batch.append(json.dumps(doc, separators=(",", ":")))
            if len(batch) == 10_000:
                stream.write("\n".join(batch) + "\n")
                batch = []
        if batch:
            stream.write("\n".join(batch) + "\n")


def _tree_rss(process: psutil.Process) -> int:
    try:
        members = [process, *process.children(recursive=True)]
        return sum(p.memory_info().rss for p in members)
    except psutil.Error:
        return 0


def _parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


# -- 5. memory ---------------------------------------------------------------------------


def memory(report: Report, count: int) -> None:
    print(f"\n5. memory: RSS over {count:,} evaluate() calls in one fresh process")
    done = subprocess.run(  # noqa: S603 - this interpreter, this script
        [sys.executable, __file__, "--memory-child", str(count)],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    grown = result["grown_mb"]
    full = count >= TARGET_MEMORY_EVALUATIONS
    report.add(
        f"RSS growth over {count:,} evaluations",
        f"{grown:+.1f} MB (from {result['before_mb']:.0f} MB; "
        f"{count / result['seconds']:,.0f} evaluations/s)",
        f"<= {TARGET_RSS_MB:.0f} MB over 1,000,000" if full else "",
        grown <= TARGET_RSS_MB if full else None,
    )
    curve = ", ".join(f"{n:,}: {mb:+.1f}" for n, mb in result["curve"])
    report.add("  RSS growth along the way (MB)", curve)


def memory_child(count: int) -> None:
    """Run in a fresh process: ``count`` evaluations; RSS before (after warm-up) and after."""
    engine = rsa_rules.default_engine()
    docs = list(synthetic_patients(10_000, seed=99))
    process = psutil.Process()
    for i in range(20_000):  # warm up caches and allocator pools
        engine.evaluate(docs[i % len(docs)])
    before = process.memory_info().rss
    curve = []
    step = max(1, count // 10)
    start = time.perf_counter()
    for i in range(1, count + 1):
        engine.evaluate(docs[i % len(docs)])
        if i % step == 0:
            curve.append((i, (process.memory_info().rss - before) / 1e6))
    seconds = time.perf_counter() - start
    grown = (process.memory_info().rss - before) / 1e6
    print(
        json.dumps(
            {"before_mb": before / 1e6, "grown_mb": grown, "curve": curve, "seconds": seconds}
        )
    )


# -- 6. scaling with input size ------------------------------------------------------------


def scaling(report: Report, quick: bool) -> None:
    print("\n6. scaling: each tenfold step of input at most about tenfold time")
    from bench_scaling import run

    for figure, met in run(quick=quick):
        report.add(f"scaling: {figure}", "", "linear (n log n) or stated limit", met)


# -- the command -------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts (about a minute)")
    parser.add_argument("--audit-patients", type=int, help="default 1,000,000 (quick: 20,000)")
    parser.add_argument("--memory-evaluations", type=int, help="default 1,000,000 (quick: 50,000)")
    parser.add_argument("--throughput-patients", type=int, help="default 60,000 (quick: 6,000)")
    parser.add_argument("--rounds", type=int, help="evaluate() calls per figure (default 20,000)")
    parser.add_argument("--cold-runs", type=int, default=7)
    parser.add_argument(
        "--no-scaling", action="store_true", help="skip 6. (bench_scaling.py, about a minute)"
    )
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child is not None:
        memory_child(args.memory_child)
        return 0
    quick = args.quick
    audit_count = args.audit_patients or (20_000 if quick else TARGET_AUDIT_PATIENTS)
    memory_count = args.memory_evaluations or (50_000 if quick else TARGET_MEMORY_EVALUATIONS)
    throughput_count = args.throughput_patients or (6_000 if quick else 60_000)
    rounds = args.rounds or (2_000 if quick else 20_000)

    print("rsa-rules benchmarks" + (" (quick: smaller counts)" if quick else ""))
    print(machine())
    report = Report()
    started = time.perf_counter()
    cold_start(report, args.cold_runs)
    single(report, rounds, typical=1_000)
    throughput(report, throughput_count)
    with tempfile.TemporaryDirectory(prefix="rsa-rules-bench-") as folder:
        audit(report, audit_count, Path(folder))
    memory(report, memory_count)
    if not args.no_scaling:
        scaling(report, quick)
    print(f"\nSummary ({time.perf_counter() - started:.0f} s in all)")
    print(report.table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
