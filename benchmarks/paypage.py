"""Benchmark: the pay page under load (requests/s and latency), beside a static file of the same server.

Usage (wrk is Debian's ``apt-get install wrk``; the Lua script is ``benchmarks/paypage.lua``)::

    .venv/bin/python benchmarks/paypage.py [--cases 100000] [--database postgresql+psycopg://...]
                                           [--workers 2] [--seconds 15] [--rate 200] [--connections 32]

A fresh workspace gets ``--cases`` synthetic debtors with one open invoice each, imported as a ledger
snapshot (the bulk import: every case has its reference and store rows as in production). With
``--database`` naming a PostgreSQL database that already holds exactly ``--cases`` cases (an earlier
run's), the import is skipped, so a 100,000-case store is built once. Then ``dunning serve
--workers N`` runs in its own processes on 127.0.0.1 and wrk (C, its own process: the load generator
is not the bottleneck) asks, for ``--seconds`` each:

1. **saturation**: as many requests as ``--connections`` connections get answered (the most
   requests/s the server gives), for the stylesheet (a static file of the same server: the stack's
   own baseline) and for the landing page of random cases' pay links (each opening is a visit,
   written to the store), first of links opened cold (the claim built on the first opening), then
   of ``--prepared`` other links whose pages were prepared for the day as ``dunning links prepare``
   does after the night's messages (:mod:`dunning.web.prepared`; its time is printed too);
2. **paced at --rate**: each connection waits ``connections / rate`` s between its requests, so at most
   ``--rate`` requests/s are offered (fewer when answers are slow: the achieved rate is printed); the
   target of issue 18 is p95 under 50 ms at 200 requests/s with 100,000 cases on PostgreSQL.

Printed per run: requests answered, requests/s, p50/p95/p99 latency (wrk's), errors (non-2xx,
socket errors). Server and load generator share the machine, so the figures are a floor.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import func, select

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dunning.domain import paylink  # noqa: E402
from dunning.store import cases, open_store  # noqa: E402
from dunning.usecases.importing.snapshot import import_ledger  # noqa: E402
from dunning.usecases.outgoing.secrets import load_secrets  # noqa: E402
from dunning.web.prepared import prepare_pages  # noqa: E402
from dunning.workspace import init_workspace, open_workspace  # noqa: E402

AS_OF = date(2026, 11, 2)
LUA = Path(__file__).with_suffix(".lua")


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


def _cases_in(url: str) -> int:
    store = open_store(url)
    try:
        with store.begin() as conn:
            return int(conn.execute(select(func.count()).select_from(cases)).scalar_one())
    finally:
        store.dispose()


def _wrk(base: str, paths: Path, *, seconds: float, connections: int, delay_ms: float) -> str:
    """One wrk run against ``base`` (random lines of ``paths``); its RESULT figures as a printed line."""
    env = {**os.environ, "PAYPAGE_PATHS": str(paths), "PAYPAGE_DELAY_MS": f"{delay_ms:.0f}"}
    run = subprocess.run(
        ["wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds:.0f}s", "--latency", "--timeout", "10s",
         "-s", str(LUA), base],
        env=env, capture_output=True, text=True, check=True, timeout=seconds + 60,
    )
    line = next(line for line in run.stdout.splitlines() if line.startswith("RESULT "))
    requests, errors, wall, p50, p95, p99, mean = line.split()[1:]
    return (f"{int(requests):>6} requests  {int(requests) / float(wall):7.1f} req/s  p50 {float(p50):7.1f} ms  "
            f"p95 {float(p95):7.1f} ms  p99 {float(p99):7.1f} ms  mean {float(mean):7.1f} ms  errors {errors}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--database", default=None, help="store URL (default: SQLite in the temporary workspace)")
    parser.add_argument("--workers", type=int, default=2, help="dunning serve --workers")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--rate", type=float, default=200.0, help="requests a second offered in the paced runs")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--links", type=int, default=20_000, help="how many cases' pay links are asked for cold")
    parser.add_argument("--prepared", type=int, default=3_000,
                        help="how many other cases' links get their pages prepared for the day first")
    parser.add_argument("--import-only", action="store_true", help="fill the store (--database), measure nothing")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install wrk")

    with tempfile.TemporaryDirectory(prefix="paypage-bench-") as folder:
        root = Path(folder) / "ws"
        init_workspace(root)
        env = {**os.environ, "DUNNING_PAYPAGE_RATE_PER_ADDRESS": "1000000", "DUNNING_PAYPAGE_RATE_PER_LINK": "1000000"}
        if args.database:
            env["DUNNING_DATABASE"] = args.database
        workspace = open_workspace(root, environ={k: v for k, v in env.items() if k.startswith("DUNNING_")})
        kind = workspace.database_url.split(":")[0]
        if args.database and _cases_in(args.database) == args.cases:
            print(f"{args.cases} cases already in the store ({kind}): not imported again")
        else:
            store = open_store(workspace.database_url)
            ledger = Path(folder) / "ledger.csv"
            _ledger(ledger, args.cases)
            started = time.perf_counter()
            import_ledger(store, ledger, as_of=AS_OF, reference_kind=workspace.config.creditor.reference)
            print(f"{args.cases} cases imported in {time.perf_counter() - started:.1f} s ({kind})")
            store.dispose()
        if args.import_only:
            return
        secret = load_secrets(workspace).paylink
        store = open_store(workspace.database_url)
        with store.begin() as conn:
            case_ids = list(conn.execute(select(cases.c.id)).scalars())
        store.dispose()
        drawn = random.Random(1).sample(case_ids, min(args.links + args.prepared, len(case_ids)))
        sample, ahead = drawn[: args.links], drawn[args.links :]
        # the server checks links against its own clock, in the creditor's time zone
        today = datetime.now(ZoneInfo(workspace.config.creditor.timezone)).date()
        expires = today + timedelta(days=30)
        pages = Path(folder) / "pages.txt"
        pages.write_text("".join(f"/p/{paylink.make_token(str(c), expires, secret)}?m=q\n" for c in sample))
        ahead_tokens = [paylink.make_token(str(c), expires, secret) for c in ahead]
        prepared_pages = Path(folder) / "prepared.txt"
        prepared_pages.write_text("".join(f"/p/{token}?m=q\n" for token in ahead_tokens))
        store = open_store(workspace.database_url)
        report = prepare_pages(workspace, store, today, ahead_tokens, workers=args.workers)
        store.dispose()
        print(f"{report.prepared} pages prepared ahead in {report.seconds:.1f} s "
              f"({report.prepared / max(report.seconds, 1e-9):.1f}/s in {args.workers} worker processes; "
              f"{report.fresh} already fresh)")
        static = Path(folder) / "static.txt"
        static.write_text("/p/assets/paypage.css\n")
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        exe = Path(sys.executable).with_name("dunning")
        server = subprocess.Popen(
            [str(exe), "-w", str(root), "serve", "--port", str(port), "--workers", str(args.workers)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 300  # a loaded machine imports slowly
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("dunning serve did not start")
                time.sleep(0.5)
            _wrk(base, pages, seconds=3, connections=4, delay_ms=0)  # warm-up: imports, connections
            delay = args.connections / args.rate * 1000
            print(f"dunning serve --workers {args.workers}; wrk -t1 -c{args.connections}, {args.seconds:.0f} s a run; "
                  f"{len(sample)} random cases' links of {len(case_ids)}")
            for label, paths, pause in (
                ("static file, saturation", static, 0.0),
                ("landing cold, saturation", pages, 0.0),
                ("landing prepared, saturation", prepared_pages, 0.0),
                (f"static file, paced {args.rate:.0f}/s", static, delay),
                (f"landing cold, paced {args.rate:.0f}/s", pages, delay),
                (f"landing prepared, paced {args.rate:.0f}/s", prepared_pages, delay),
            ):
                figures = _wrk(base, paths, seconds=args.seconds, connections=args.connections, delay_ms=pause)
                print(f"{label:<30} {figures}", flush=True)
        finally:
            server.terminate()
            server.wait(30)


if __name__ == "__main__":
    main()
