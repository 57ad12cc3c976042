"""Benchmark: the CPU one pay-page landing costs, in this process and in PostgreSQL, for A/B on a busy machine.

Usage (the store of ``benchmarks/paypage.py --import-only``)::

    .venv/bin/python benchmarks/paypage_cpu.py --database postgresql+psycopg://... [--count 500] [--part app]

Wall time on a shared machine says little; CPU seconds say what a request costs whoever else runs.
A fresh temporary workspace on ``--database`` opens ``--count`` random cases' pay links once each (each a
first opening: nothing kept yet, a visit written), one after the other on one thread, and prints the CPU
milliseconds per opening of this process (``time.process_time``) and of the PostgreSQL backend that
answered (from ``/proc``: the server must be local), with the load average:

* ``--part landing``: :func:`dunning.usecases.paypage.landing.landing` alone (the store's part);
* ``--part app``: the whole ASGI application (routing, the landing, the template), without HTTP;
* ``--part again``: the app again on the same links (the claims kept by the reader: a second opening);
* ``--part server``: ``dunning serve --workers 2`` answering wrk (``benchmarks/paypage.lua``) at ``--rate``
  requests a second for ``--seconds``: the CPU of the server's processes and of the store's PostgreSQL
  backends per request answered (HTTP parsing included; wrk's own CPU not).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, select, text
from sqlalchemy.pool import NullPool

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dunning.domain import paylink  # noqa: E402
from dunning.store import cases, open_store  # noqa: E402
from dunning.usecases.outgoing.secrets import load_secrets  # noqa: E402
from dunning.usecases.paypage.claim import PayPageReader  # noqa: E402
from dunning.usecases.paypage.landing import landing  # noqa: E402
from dunning.web.app import create_app  # noqa: E402
from dunning.workspace import init_workspace, open_workspace  # noqa: E402

LUA = Path(__file__).with_name("paypage.lua")


def _backend_cpu(pid: int) -> float:
    """CPU seconds (user + system) of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _get(app: Any, path: str) -> int:
    """One GET of ``path`` through the ASGI ``app``; its status."""
    status = 0
    raw_path, _, query = path.partition("?")

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": raw_path,
        "raw_path": raw_path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"accept-language", b"nl")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    await app(scope, receive, send)
    return status


def _tree(root: int) -> list[int]:
    """``root`` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _cpu_of(pids: list[int]) -> dict[int, float]:
    found = {}
    for pid in pids:
        with contextlib.suppress(OSError):  # ended meanwhile
            found[pid] = _backend_cpu(pid)
    return found


def _spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two samples (a process started meanwhile counts whole)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def _server(root: Path, args: argparse.Namespace, tokens: list[str], folder: Path) -> None:
    """CPU per request of ``dunning serve --workers 2`` and its PostgreSQL backends, wrk at ``args.rate``/s."""
    pages = folder / "pages.txt"
    pages.write_text("".join(f"/p/{token}?m=q\n" for token in tokens))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    env = {
        **os.environ,
        "DUNNING_DATABASE": args.database,
        "DUNNING_PAYPAGE_RATE_PER_ADDRESS": "1000000",
        "DUNNING_PAYPAGE_RATE_PER_LINK": "1000000",
    }
    exe = Path(sys.executable).with_name("dunning")
    server = subprocess.Popen(
        [str(exe), "-w", str(root), "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    database = args.database.rsplit("/", 1)[1]
    probe = create_engine(args.database.replace(database, "postgres"), poolclass=NullPool)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("dunning serve did not start")
            time.sleep(0.3)
        wrk = ["wrk", "-t", "1", "-d", "", "--latency", "--timeout", "10s", "-s", str(LUA), base]

        def ask(seconds: float, connections: int, delay_ms: float) -> str:
            run_env = {**os.environ, "PAYPAGE_PATHS": str(pages), "PAYPAGE_DELAY_MS": f"{delay_ms:.0f}"}
            command = [*wrk[:3], "-c", str(connections), "-d", f"{seconds:.0f}s", *wrk[5:]]
            done = subprocess.run(command, env=run_env, capture_output=True, text=True, check=True)
            return next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))

        ask(3, 4, 0)  # warm-up: imports, the pools' connections
        with probe.connect() as conn:
            backends = list(
                conn.execute(text("select pid from pg_stat_activity where datname = :d"), {"d": database}).scalars()
            )
        processes = _tree(server.pid)
        before_server, before_pg = _cpu_of(processes), _cpu_of(backends)
        connections = 8
        line = ask(args.seconds, connections, connections / args.rate * 1000)
        server_cpu = _spent(before_server, _cpu_of(_tree(server.pid)))
        with probe.connect() as conn:
            backends = list(
                conn.execute(text("select pid from pg_stat_activity where datname = :d"), {"d": database}).scalars()
            )
        pg_cpu = _spent(before_pg, _cpu_of(backends))
    finally:
        server.terminate()
        server.wait(30)
        probe.dispose()
    requests, errors, wall, p50, p95, _p99, _mean = line.split()[1:]
    n = int(requests)
    print(
        f"server: {n} requests ({n / float(wall):.1f}/s, errors {errors}, p50 {float(p50):.1f} ms, "
        f"p95 {float(p95):.1f} ms)  server processes {server_cpu / n * 1000:.2f} ms CPU  postgres "
        f"{pg_cpu / n * 1000:.2f} ms CPU a request  load average {os.getloadavg()[0]:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--part", choices=("landing", "app", "again", "server"), default="app")
    parser.add_argument("--rate", type=float, default=40.0, help="requests a second (--part server)")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long wrk asks (--part server)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", default=None, help="write cProfile stats of the measured openings here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="paypage-cpu-") as folder:
        root = Path(folder) / "ws"
        init_workspace(root)
        workspace = open_workspace(
            root,
            environ={
                "DUNNING_DATABASE": args.database,
                "DUNNING_PAYPAGE_RATE_PER_ADDRESS": "1000000",
                "DUNNING_PAYPAGE_RATE_PER_LINK": "1000000",
            },
        )
        store = open_store(workspace.database_url)
        with store.begin() as conn:
            case_ids = list(conn.execute(select(cases.c.id)).scalars())
            backend = int(conn.execute(text("select pg_backend_pid()")).scalar_one())
        secret = load_secrets(workspace).paylink
        expires = date.today() + timedelta(days=30)
        sample = random.Random(args.seed).sample(case_ids, args.count + 20)
        tokens = [paylink.make_token(str(c), expires, secret) for c in sample]
        if args.part == "server":
            store.dispose()
            _server(root, args, tokens, Path(folder))
            return
        reader = PayPageReader(store, workspace)
        app = create_app(workspace, store, reader=reader)
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)

        def run(batch: list[str]) -> None:
            for token in batch:
                if args.part == "landing":
                    landing(reader, token, date.today(), ("q", time_now()))
                else:
                    assert loop.run_until_complete(_get(app, f"/p/{token}?m=q")) == 200

        from datetime import UTC, datetime

        def time_now() -> datetime:
            return datetime.now(UTC)

        run(tokens[:20])  # warm-up: imports, the pool's connection, the template
        measured = tokens[20:]
        if args.part == "again":
            run(measured)
        profile = cProfile.Profile(time.process_time) if args.profile else None
        before_pg, before, wall = _backend_cpu(backend), time.process_time(), time.perf_counter()
        if profile is not None:
            profile.runcall(run, measured)
            profile.dump_stats(args.profile)
        else:
            run(measured)
        cpu, wall = time.process_time() - before, time.perf_counter() - wall
        pg = _backend_cpu(backend) - before_pg
        loop.close()
        store.dispose()
    n = len(measured)
    print(
        f"{args.part}: {n} openings  python {cpu / n * 1000:.2f} ms CPU  postgres {pg / n * 1000:.2f} ms CPU  "
        f"wall {wall / n * 1000:.2f} ms  load average {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
