"""Benchmark: the pay page under load (requests/s and latency), beside a static file of the same server.

Usage::

    .venv/bin/python benchmarks/paypage.py [--cases 100000] [--database postgresql+psycopg://...]
                                           [--seconds 15] [--rate 200] [--concurrency 32]

A fresh workspace gets ``--cases`` synthetic debtors with one open invoice each (imported as a ledger
snapshot, so every case has its reference and store rows as in production), then ``dunning serve`` runs
in its own process on 127.0.0.1 and an open-loop load generator (this process, asyncio + httpx) asks
``--rate`` requests a second for ``--seconds``: first the stylesheet (a static file of the same server:
the baseline of the stack itself), then the landing page of random cases' pay links (each opening is a
visit, written to the store). Printed per run: requests answered, requests/s achieved, p50/p95/p99
latency and errors; the target of issue 18 is p95 under 50 ms at 200 requests/s with 100,000 cases on
PostgreSQL. The load generator shares the machine with the server, so the figures are a floor.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dunning.domain import paylink  # noqa: E402
from dunning.store import open_store  # noqa: E402
from dunning.usecases.cases.view import list_cases  # noqa: E402
from dunning.usecases.importing.snapshot import import_ledger  # noqa: E402
from dunning.usecases.outgoing.secrets import load_secrets  # noqa: E402
from dunning.workspace import init_workspace, open_workspace  # noqa: E402

AS_OF = date(2026, 11, 2)


def _ledger(path: Path, cases: int, seed: int = 18) -> None:
    rnd = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "debtor_id",
                "name",
                "invoice_id",
                "invoice_date",
                "due_date",
                "amount",
                "language",
                "street",
                "postal_code",
                "city",
                "country",
            ]
        )
        for n in range(cases):
            due = AS_OF - timedelta(days=rnd.randint(10, 90))
            writer.writerow(
                [
                    f"D{n:07d}",
                    f"Debtor {n}",
                    f"INV-2026-{n:07d}",
                    (due - timedelta(days=30)).isoformat(),
                    due.isoformat(),
                    f"{rnd.randint(1500, 250000) / 100:.2f}",
                    rnd.choice("nfde"),
                    f"Straat {n % 500}",
                    f"{1000 + n % 8999}",
                    "Brussel",
                    "BE",
                ]
            )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _load(urls: list[str], rate: float, seconds: float, concurrency: int) -> tuple[list[float], int, float]:
    """Open loop: a request every 1/rate s (at most ``concurrency`` in flight); latencies in ms, errors, wall."""
    latencies: list[float] = []
    errors = 0
    limit = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=concurrency)) as client:

        async def one(url: str) -> None:
            nonlocal errors
            async with limit:
                started = time.perf_counter()
                try:
                    answer = await client.get(url)
                    if answer.status_code != 200:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
                latencies.append((time.perf_counter() - started) * 1000)

        tasks = []
        begin = time.perf_counter()
        total = int(rate * seconds)
        for i in range(total):
            delay = begin + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(urls[i % len(urls)])))
        await asyncio.gather(*tasks)
        wall = time.perf_counter() - begin
    return latencies, errors, wall


def _report(label: str, latencies: list[float], errors: int, wall: float) -> None:
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))]

    print(
        f"{label:<28} {len(ordered):>6} requests  {len(ordered) / wall:7.1f} req/s  p50 {pct(0.50):6.1f} ms  "
        f"p95 {pct(0.95):6.1f} ms  p99 {pct(0.99):6.1f} ms  mean {statistics.fmean(ordered):6.1f} ms  "
        f"errors {errors}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--database", default=None, help="store URL (default: SQLite in the temporary workspace)")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--rate", type=float, default=200.0, help="requests a second asked")
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="paypage-bench-") as folder:
        root = Path(folder) / "ws"
        init_workspace(root)
        env = {**os.environ, "DUNNING_PAYPAGE_RATE_PER_ADDRESS": "1000000", "DUNNING_PAYPAGE_RATE_PER_LINK": "1000000"}
        if args.database:
            env["DUNNING_DATABASE"] = args.database
        workspace = open_workspace(root, environ={k: v for k, v in env.items() if k.startswith("DUNNING_")})
        store = open_store(workspace.database_url)
        ledger = Path(folder) / "ledger.csv"
        _ledger(ledger, args.cases)
        started = time.perf_counter()
        import_ledger(store, ledger, as_of=AS_OF, reference_kind=workspace.config.creditor.reference)
        print(
            f"{args.cases} cases imported in {time.perf_counter() - started:.1f} s "
            f"({workspace.database_url.split(':')[0]})"
        )
        secret = load_secrets(workspace).paylink
        case_ids = [c.case_id for c in list_cases(store)]
        store.dispose()
        sample = random.Random(1).sample(case_ids, min(2000, len(case_ids)))
        expires = date.today() + timedelta(days=30)  # the server checks links against its own clock
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        tokens = [paylink.make_token(str(case_id), expires, secret) for case_id in sample]
        pages = [f"{base}/p/{token}?m=q" for token in tokens]
        exe = Path(sys.executable).with_name("dunning")
        server = subprocess.Popen(
            [str(exe), "-w", str(root), "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 180  # a loaded machine imports slowly
            while True:
                try:
                    httpx.get(f"{base}/healthz", timeout=2)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise SystemExit("dunning serve did not start") from None
                    time.sleep(0.2)
            asyncio.run(_load(pages[:50], 20, 2, 4))  # warm-up: imports, connections, caches
            print(
                f"open loop at {args.rate:.0f} req/s asked for {args.seconds:.0f} s, at most {args.concurrency} "
                f"in flight, one uvicorn process"
            )
            _report(
                "static file (baseline)",
                *asyncio.run(_load([f"{base}/p/assets/paypage.css"], args.rate, args.seconds, args.concurrency)),
            )
            _report("pay page (landing)", *asyncio.run(_load(pages, args.rate, args.seconds, args.concurrency)))
        finally:
            server.terminate()
            server.wait(20)


if __name__ == "__main__":
    main()
