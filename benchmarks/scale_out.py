"""Scale-out of the nightly flow over Prefect workers, on a Prefect server backed by PostgreSQL.

What it does (all on this machine):

1. writes ``--workspaces`` synthetic workspaces of ``--debtors`` debtors each (about 1.5 open
   invoices per debtor, most with an email address), each with its state store in a PostgreSQL
   database of its own;
2. **baseline**: runs one workspace's night through the plain library calls (import, plan,
   dispatch: what the flow does today) without Prefect;
3. starts ``prefect server start`` with ``PREFECT_SERVER_DATABASE_CONNECTION_URL=postgresql+asyncpg://...``
   (database ``prefect``, created if missing), a ``process`` work pool ``dunning-process`` and one
   ``nightly-<i>`` deployment per workspace (each with ``concurrency_limit: 1``, as in prefect.yaml);
4. for 1 and then 2 workers (``prefect worker start --pool dunning-process --limit 1``: one flow
   run at a time per worker, the way one worker per core is run), recreates the stores, schedules
   one nightly run per workspace and times until all are completed.

Prints wall times, debtors per second and the ratios against the baseline and against one worker.
A nightly run of *one* workspace is one flow run (two nights of a workspace never overlap), so
workers add throughput across workspaces; inside a night, letters will fan out in chunks.

    python benchmarks/scale_out.py --workspaces 4 --debtors 3000
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
NIGHT = "2026-11-24"
BIN = Path(sys.executable).parent
SECRET = "scale-out-benchmark-secret-0123456789"
HEADER = [
    "customer_id", "name", "type", "language", "street", "postal_code", "city", "country", "email", "phone",
    "iban", "segment", "invoice", "invoice_date", "due_date", "original_amount", "open_amount", "currency",
    "description",
]


def write_ledger(path: Path, debtors: int, seed: int) -> int:
    """A synthetic ledger: ``debtors`` debtors with 1 or 2 overdue invoices; returns the number of rows."""
    rng = random.Random(seed)
    night = date.fromisoformat(NIGHT)
    rows = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for n in range(debtors):
            language = rng.choice(["nl", "fr", "en"])
            email = f"debtor{n}@example.be" if rng.random() < 0.85 else ""
            for k in range(rng.choice([1, 1, 2])):
                due = night - timedelta(days=rng.randint(5, 60))
                amount = f"{rng.randint(2000, 150000) / 100:.2f}"
                writer.writerow(
                    [f"D{n:06d}", f"Debtor {n}", "person", language, f"Street {n}", "1000", "Brussel", "BE", email,
                     "", "", "residential", f"INV-2026-{n:05d}{k}", (due - timedelta(days=30)).isoformat(),
                     due.isoformat(), amount, amount, "EUR", "Energy"]
                )
                rows += 1
    return rows


def admin_engine(url: str):  # type: ignore[no-untyped-def]
    return create_engine(url, isolation_level="AUTOCOMMIT")


def recreate_database(admin_url: str, name: str) -> str:
    engine = admin_engine(admin_url)
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def make_workspaces(base: Path, count: int, debtors: int, admin_url: str) -> list[Path]:
    from dunning.workspace import init_workspace

    roots = []
    for i in range(count):
        root = base / f"tenant{i}"
        init_workspace(root)
        write_ledger(root / "ledger" / "ledger.csv", debtors, seed=i)
        config = yaml.safe_load((root / "dunning.yaml").read_text(encoding="utf-8"))
        url = make_url(admin_url).set(database=f"dunning_scale_{i}")
        if url.password:  # never in dunning.yaml (refused): libpq reads PGPASSWORD, workers inherit it
            os.environ["PGPASSWORD"] = str(url.password)
        config["database"] = url._replace(password=None).render_as_string(hide_password=False)
        (root / "dunning.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
        roots.append(root)
    return roots


def reset_workspaces(roots: list[Path], admin_url: str) -> None:
    for i, root in enumerate(roots):
        recreate_database(admin_url, f"dunning_scale_{i}")
        shutil.rmtree(root / "output", ignore_errors=True)
        (root / "output").mkdir()


def baseline(root: Path) -> float:
    """One workspace's night through the library, no Prefect: import, plan, dispatch."""
    from dunning.store import open_store
    from dunning.usecases.importing.snapshot import import_ledger
    from dunning.usecases.messaging.dispatch import dispatch_messages
    from dunning.usecases.planning.night import load_flows, run_night
    from dunning.workspace import open_workspace

    started = time.perf_counter()
    ws = open_workspace(root)
    store = open_store(ws.database_url)
    night = date.fromisoformat(NIGHT)
    steps = [time.perf_counter()]
    import_ledger(store, root / "ledger" / "ledger.csv", as_of=night, reference_kind=ws.config.creditor.reference,
                  reports_dir=ws.reports_dir)
    steps.append(time.perf_counter())
    flows, _ = load_flows(ws.flows_dir)
    result = run_night(store, flows, night, creditor_country="BE", creditor_language="nl")
    steps.append(time.perf_counter())
    dispatched = dispatch_messages(store, ws, night, now=datetime.now(UTC), env={**os.environ})
    steps.append(time.perf_counter())
    store.dispose()
    elapsed = time.perf_counter() - started
    email = dispatched.channel("email")
    print(f"  baseline (library, no Prefect): {elapsed:.1f} s (import {steps[1] - steps[0]:.1f} s, "
          f"plan {steps[2] - steps[1]:.1f} s, dispatch {steps[3] - steps[2]:.1f} s); "
          f"{len(result.planned)} actions planned, {email.sent} emails sent")
    return elapsed


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the Prefect server at {url} did not become healthy in {timeout} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def run_with_workers(workers: int, deployments: list[str], env: dict[str, str], logs: Path) -> float:
    """Start the workers, wait until they poll, then time the nights from scheduling to the last completion."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    procs = [
        subprocess.Popen(
            [str(BIN / "prefect"), "worker", "start", "--pool", "dunning-process", "--limit", "1",
             "--name", f"bench-{workers}-{n}"],
            env=env, stdout=(logs / f"worker{workers}-{n}.log").open("wb"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for n in range(workers)
    ]
    try:
        with get_client(sync_client=True) as client:
            deadline = time.monotonic() + 60
            names = {f"bench-{workers}-{n}" for n in range(workers)}
            while time.monotonic() < deadline:
                online = {w.name for w in client.read_workers_for_work_pool("dunning-process")
                          if w.status is not None and w.status.value == "ONLINE"}
                if names <= online:
                    break
                time.sleep(0.5)
            started = time.perf_counter()
            runs = [run_deployment(name, parameters={"date": NIGHT}, timeout=0) for name in deployments]
            while True:
                states = [client.read_flow_run(r.id).state for r in runs]  # type: ignore[union-attr]
                if all(s is not None and s.is_final() for s in states):
                    break
                time.sleep(0.5)
            elapsed = time.perf_counter() - started
            failed = [s.name for s in states if s is not None and not s.is_completed()]
            if failed:
                raise RuntimeError(f"{len(failed)} run(s) did not complete: {failed}; see {logs}")
            durations = [client.read_flow_run(r.id).total_run_time.total_seconds() for r in runs]  # type: ignore[union-attr]
    finally:
        for proc in procs:
            stop(proc)
    print(f"  {workers} worker(s): {elapsed:.1f} s wall for {len(runs)} nights; "
          f"flow run times {', '.join(f'{d:.1f}' for d in durations)} s")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspaces", type=int, default=4)
    parser.add_argument("--debtors", type=int, default=3000, help="debtors per workspace")
    parser.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                        help="a PostgreSQL role that may create databases")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="dunning-scale-out-"))
    logs = base / "logs"
    logs.mkdir()
    os.environ["DUNNING_PAYLINK_SECRET"] = SECRET
    prefect_db = make_url(args.admin_url).set(drivername="postgresql+asyncpg", database="prefect")
    engine = admin_engine(args.admin_url)
    with engine.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = 'prefect'")).first():
            conn.execute(text('CREATE DATABASE "prefect"'))
    engine.dispose()

    print(f"{args.workspaces} workspaces x {args.debtors} debtors, stores on PostgreSQL; {os.cpu_count()} cores")
    roots = make_workspaces(base, args.workspaces, args.debtors, args.admin_url)
    reset_workspaces(roots, args.admin_url)
    base_seconds = baseline(roots[0])

    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(base / "prefect-home"),
        "PREFECT_API_URL": api,
        "PREFECT_SERVER_DATABASE_CONNECTION_URL": prefect_db.render_as_string(hide_password=False),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_WORKER_QUERY_SECONDS": "2",
        "DUNNING_PAYLINK_SECRET": SECRET,
    }
    os.environ.update({k: env[k] for k in ("PREFECT_HOME", "PREFECT_API_URL")})
    server_started = time.perf_counter()
    server = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=(logs / "server.log").open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        wait_healthy(api)
        print(f"  Prefect server on PostgreSQL healthy after {time.perf_counter() - server_started:.1f} s")
        subprocess.run([str(BIN / "prefect"), "work-pool", "create", "dunning-process", "--type", "process",
                        "--overwrite"], env=env, check=True, capture_output=True)
        from prefect import flow

        deployments = []
        for i, root in enumerate(roots):
            remote = flow.from_source(source=str(REPO), entrypoint="pipelines/nightly.py:nightly")
            remote.deploy(  # type: ignore[union-attr]
                name=f"nightly-{i}", work_pool_name="dunning-process", parameters={"workspace": str(root)},
                concurrency_limit=1, print_next_steps=False, ignore_warnings=True,
            )
            deployments.append(f"nightly/nightly-{i}")
        timings = {}
        for workers in (1, 2):
            reset_workspaces(roots, args.admin_url)
            timings[workers] = run_with_workers(workers, deployments, env, logs)
    finally:
        stop(server)
    total = args.workspaces * args.debtors
    print()
    print("| set-up | wall time | debtors/s | vs baseline (library, 1 workspace x N) |")
    print("|---|---|---|---|")
    print(f"| library, no Prefect, 1 workspace | {base_seconds:.1f} s | {args.debtors / base_seconds:.0f} | 1.00 |")
    for workers, seconds in timings.items():
        print(f"| Prefect, {workers} worker(s), {args.workspaces} workspaces | {seconds:.1f} s | "
              f"{total / seconds:.0f} | {(base_seconds * args.workspaces) / seconds:.2f} |")
    print(f"\n2 workers vs 1: {timings[1] / timings[2]:.2f}x")
    if args.keep:
        print(f"kept {base} and the databases dunning_scale_*")
        return
    shutil.rmtree(base, ignore_errors=True)
    engine = admin_engine(args.admin_url)
    with engine.connect() as conn:
        for i in range(args.workspaces):
            conn.execute(text(f'DROP DATABASE IF EXISTS "dunning_scale_{i}" WITH (FORCE)'))
    engine.dispose()


if __name__ == "__main__":
    main()
