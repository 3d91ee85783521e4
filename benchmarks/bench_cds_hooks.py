"""Benchmark the CDS Hooks service: ``patient-view`` latency under a steady request rate.

    python benchmarks/bench_cds_hooks.py [--rate 100] [--duration 30] [--no-auth] [--workers 2]

Starts ``rsa-rules serve`` (the real command, authentication on, ``--workers 2`` by default:
one worker process per core of a 2-core machine, as the service is deployed) on a free
loopback port,
then sends ``patient-view`` calls for an APS patient given as FHIR prefetch data (a Patient,
four Conditions, four Observations) at a fixed rate, open loop: each request leaves at its
scheduled time whether or not earlier ones have returned, so a slow server cannot slow the
load down and hide its own latency. Every request carries its own ES384-signed JWT (signed
before the run, so the load generator does not compete with the server for the CPU).

Prints p50, p90, p99 and the maximum latency (from sending a request to its last byte), the
rate achieved, any errors, the server's CPU time per request (all its processes), and the
machine's load average: the load generator and the server
share the machine, so other work running at the same time shows up in the tail.
Target: p99 at most 50 ms at 100 requests/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import jwt
import psutil
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

ROOT = Path(__file__).resolve().parent.parent
TARGET_P99_MS = 50.0
ISSUER = "https://ehr.benchmark.example"
SERVICE = "rsa-rules-patient-view"


def _coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return {"coding": [out]}


def aps_prefetch() -> dict[str, Any]:
    """An APS patient as CDS Hooks prefetch: the patient, and searchset Bundles."""
    snomed, loinc, ucum = "http://snomed.info/sct", "http://loinc.org", "http://unitsofmeasure.org"
    subject = {"reference": "Patient/bench-1"}

    def condition(rid: str, code: str, onset: str | None) -> dict[str, Any]:
        resource: dict[str, Any] = {
            "resourceType": "Condition",
            "id": rid,
            "subject": subject,
            "code": _coding(snomed, code),
        }
        if onset:
            resource["onsetDateTime"] = onset
        return resource

    def observation(rid: str, code: dict[str, Any], when: str, **value: Any) -> dict[str, Any]:
        return {
            "resourceType": "Observation",
            "id": rid,
            "status": "final",
            "subject": subject,
            "code": code,
            "effectiveDateTime": when,
            **value,
        }

    def searchset(*resources: dict[str, Any]) -> dict[str, Any]:
        return {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [{"resource": r} for r in resources],
        }

    positive = _coding(snomed, "10828004", "Positive")
    lupus = _coding(loinc, "3284-7", "Lupus anticoagulant")
    return {
        "patient": {"resourceType": "Patient", "id": "bench-1", "birthDate": "1992-06-15"},
        "conditions": searchset(
            condition("m-1", "17369002", "2024-05-02"),
            condition("m-2", "17369002", "2024-11-20"),
            condition("m-3", "19169002", "2025-06-14"),
            condition("aps", "26843008", None),
        ),
        "observations": searchset(
            observation("la-1", lupus, "2026-01-05", valueCodeableConcept=positive),
            observation("la-2", lupus, "2026-04-10", valueCodeableConcept=positive),
            observation(
                "acl-g",
                _coding(loinc, "3181-5"),
                "2026-01-05",
                valueQuantity={"value": 22, "unit": "GPL", "system": ucum, "code": "[GPL'U]/mL"},
            ),
            observation(
                "acl-m",
                _coding(loinc, "3182-3"),
                "2026-01-05",
                valueQuantity={"value": 8, "unit": "MPL", "system": ucum, "code": "[MPL'U]/mL"},
            ),
        ),
        "medications": None,
        "services": None,
        "procedures": None,
        "allergies": None,
    }


def request_body() -> bytes:
    document = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/bench", "patientId": "bench-1"},
        "prefetch": aps_prefetch(),
    }
    return json.dumps(document).encode()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Tokens:
    def __init__(self, audience: str) -> None:
        self.key = ec.generate_private_key(ec.SECP384R1())
        self.audience = audience
        public = ECAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        self.jwks = {"keys": [{**public, "kid": "bench", "alg": "ES384", "use": "sig"}]}

    def mint(self, lifetime: int = 240) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": self.audience,
            "iat": now,
            "exp": now + lifetime,
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(claims, self.key, algorithm="ES384", headers={"kid": "bench"})


def start_server(
    directory: Path, port: int, tokens: Tokens, auth: bool, workers: int = 1
) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "rsa_rules",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--database",
        str(directory / "cds.sqlite3"),
        "--no-access-log",
        "--log-level",
        "warning",
        "--workers",
        str(workers),
    ]
    if auth:
        issuers = directory / "issuers.json"
        issuers.write_text(json.dumps({"issuers": [{"iss": ISSUER, "jwks": tokens.jwks}]}))
        command += ["--trusted-issuers", str(issuers)]
    else:
        command.append("--no-auth")
    return subprocess.Popen(command, cwd=ROOT, stderr=subprocess.DEVNULL)  # noqa: S603 - our CLI


def wait_until_up(base: str, tokens: Tokens, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    with httpx.Client(timeout=2.0, trust_env=False) as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit("rsa-rules serve exited at start-up")
            try:
                discovery = f"{base}/cds-services"
                token = jwt.encode(
                    {
                        "iss": ISSUER,
                        "aud": discovery,
                        "iat": int(time.time()),
                        "exp": int(time.time()) + 60,
                        "jti": str(uuid.uuid4()),
                    },
                    tokens.key,
                    algorithm="ES384",
                    headers={"kid": "bench"},
                )
                response = http.get(discovery, headers={"Authorization": f"Bearer {token}"})
                if response.status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    raise SystemExit("rsa-rules serve did not start within 60 s")


async def run_load(
    url: str, body: bytes, headers: list[dict[str, str]], rate: float
) -> tuple[list[float], list[float], list[str], float]:
    """Open-loop load: request i leaves at start + i / rate. Latencies (s), send lags (s),
    errors, and the wall time of the run."""
    latencies: list[float] = []
    lags: list[float] = []
    errors: list[str] = []
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(timeout=30.0, limits=limits, trust_env=False) as http:

        async def one(index: int, start: float) -> None:
            scheduled = start + index / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sent = time.perf_counter()
            lags.append(sent - scheduled)
            try:
                response = await http.post(url, content=body, headers=headers[index])
                await response.aread()
            except httpx.HTTPError as error:
                errors.append(type(error).__name__)
                return
            latencies.append(time.perf_counter() - sent)
            if response.status_code != 200:
                errors.append(f"HTTP {response.status_code}: {response.text[:200]}")

        start = time.perf_counter() + 0.2
        await asyncio.gather(*(one(i, start) for i in range(len(headers))))
        return latencies, lags, errors, time.perf_counter() - start


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load")
    parser.add_argument("--warmup", type=int, default=200, help="requests before measuring")
    parser.add_argument("--no-auth", action="store_true", help="run the server with --no-auth")
    parser.add_argument(
        "--workers", type=int, default=2, help="worker processes of the server (serve --workers)"
    )
    args = parser.parse_args()
    auth = not args.no_auth
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    url = f"{base}/cds-services/{SERVICE}"
    tokens = Tokens(url)
    body = request_body()
    count = int(args.rate * args.duration)
    content = {"Content-Type": "application/json"}

    def headers(n: int) -> list[dict[str, str]]:
        if not auth:
            return [content] * n
        return [{**content, "Authorization": f"Bearer {tokens.mint()}"} for _ in range(n)]

    print(f"rsa-rules CDS Hooks benchmark: patient-view, {len(body)} byte request")
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")
    before = os.getloadavg()[0]
    print(f"authentication: {'on (ES384 JWT per request)' if auth else 'off (--no-auth)'}")
    print(f"server: rsa-rules serve --workers {args.workers}")
    with tempfile.TemporaryDirectory() as tmp:
        process = start_server(Path(tmp), port, tokens, auth, args.workers)
        try:
            wait_until_up(base, tokens, process)
            warm = headers(args.warmup)
            asyncio.run(run_load(url, body, warm, rate=min(args.rate, 200.0)))
            load = headers(count)
            server = psutil.Process(process.pid)
            processes = [server, *server.children(recursive=True)]
            cpu_before = sum(sum(p.cpu_times()[:2]) for p in processes)
            latencies, lags, errors, wall = asyncio.run(run_load(url, body, load, args.rate))
            server_cpu = sum(sum(p.cpu_times()[:2]) for p in processes) - cpu_before
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    ms = [value * 1000 for value in latencies]
    after = os.getloadavg()[0]
    print(f"machine load average (1 min) before / after: {before:.2f} / {after:.2f}")
    print(f"load: {count} requests at {args.rate:g}/s for {args.duration:g} s (open loop)")
    print(f"achieved: {len(latencies)} answered in {wall:.1f} s = {len(latencies) / wall:.1f}/s")
    if ms:
        print(
            f"latency ms: p50 {statistics.median(ms):.1f}  p90 {percentile(ms, 0.90):.1f}  "
            f"p99 {percentile(ms, 0.99):.1f}  max {max(ms):.1f}  mean {statistics.fmean(ms):.1f}"
        )
        print(f"send lag ms (client behind schedule): p99 {percentile(lags, 0.99) * 1000:.1f}")
        print(
            f"server CPU: {server_cpu * 1000 / len(ms):.1f} ms a request, "
            f"{server_cpu / wall:.0%} of one core across {args.workers} worker(s) (a worker's "
            "queue grows as its share nears 100%)"
        )
    if errors:
        print(f"errors: {len(errors)}, first: {errors[0]}")
        return 1
    p99 = percentile(ms, 0.99)
    verdict = "met" if p99 <= TARGET_P99_MS else "MISSED"
    print(f"target p99 <= {TARGET_P99_MS:g} ms at 100/s: {verdict} ({p99:.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
