"""``dunning letters`` as a user runs it, timed: the pipeline figure of ``benchmarks/letters.py``.

A fresh workspace (``dunning init``) with the shipped default flow and a ledger of ``count`` debtors
without email address (so the first reminder goes by letter, the email's fallback), one to three open
invoices each (each invoice a line of the letter), in four languages; ``dunning import`` and
``dunning run`` prepare it, untimed. Then ``dunning letters --date ... --workers W`` is run as a
subprocess and timed from start to exit: process start-up, loading the due actions, rendering,
writing and recording each PDF, planning and recording batches, assembling the batch PDFs,
manifests and tickets, and delivering them over ``print.transport`` (``file://`` into the workspace,
or ``sftp://`` to a real OpenSSH sshd on 127.0.0.1 from ``tests/servers/sshd.py``), with the
exactly-once bookkeeping of every letter.

    python benchmarks/letters_pipeline.py --count 2000 --workers 2 [--sftp] [--database URL] [--profile out.prof]

``--profile`` runs the command in this process under cProfile with one worker (rendering in-process)
instead of timing a subprocess. ``--database`` takes a PostgreSQL server URL; a database of its own is
created for the run and dropped after it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

IMPORTED = date(2026, 10, 5)
NIGHT = date(2026, 10, 8)  # day 7 after the due date: the first reminder
HEADER = (
    "customer_id,name,type,language,street,postal_code,city,country,email,phone,iban,segment,invoice,"
    "invoice_date,due_date,original_amount,open_amount,currency,description"
)


def dunning_executable() -> str:
    beside = Path(sys.executable).parent / "dunning"
    return str(beside) if beside.exists() else (shutil.which("dunning") or "dunning")


def ledger_csv(debtors: int, seed: int = 17) -> str:
    """``debtors`` debtors by post only, 1 to 3 open invoices each, in nl, fr, de and en."""
    rng = random.Random(seed)
    rows = [HEADER]
    languages = ("nl", "fr", "de", "en")
    for i in range(1, debtors + 1):
        for k in range(rng.choice((1, 1, 2, 3))):
            amount = f"{rng.randint(40, 900)}.{rng.randint(0, 99):02d}"
            rows.append(
                f"D{i:06d},Debtor {i},person,{languages[i % 4]},Kerkstraat {i},{1000 + (i * 7) % 8000},"
                f"Brussel,BE,,,,residential,INV-2026-{(i * 3 + k) % 100000:05d},2026-09-01,2026-10-01,"
                f"{amount},{amount},EUR,Energy"
            )
    return "\n".join(rows) + "\n"


@dataclass
class Pipeline:
    root: Path
    env: dict[str, str]
    database_url: str | None
    letters: int = 0


def _run(env: dict[str, str], args: list[str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([dunning_executable(), *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"dunning {args[0]} exited {done.returncode}: {done.stderr[-2000:]}")
    return done


@contextlib.contextmanager
def _database(admin_url: str | None) -> Iterator[str | None]:
    """A fresh PostgreSQL database for the run (dropped after it), or None for the workspace's SQLite file."""
    if admin_url is None:
        yield None
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = make_url(admin_url)
    name = f"dunning_bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@contextlib.contextmanager
def prepared(count: int, *, sftp: bool = False, admin_url: str | None = None,
             batch_size: int | None = None) -> Iterator[Pipeline]:
    """A workspace with ``count`` first-reminder letters planned for ``NIGHT``, imported and planned (untimed)."""
    with tempfile.TemporaryDirectory(prefix="dunning-letters-bench-") as tmp, _database(admin_url) as url:
        root = Path(tmp) / "ws"
        env = {**os.environ, "DUNNING_WORKSPACE": str(root)}
        env.pop("DUNNING_DATABASE", None)
        if url:
            env["DUNNING_DATABASE"] = url
        _run(env, ["init", str(root)])
        with _transport(Path(tmp), sftp) as print_config:
            config_path = root / "dunning.yaml"
            config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
            config["print"].update(print_config)
            if batch_size:
                config["print"]["batch_size"] = batch_size
            config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
            for example in (root / "ledger").glob("open-items*"):
                example.unlink()
            (root / "ledger" / "bench.csv").write_text(ledger_csv(count), encoding="utf-8")
            _run(env, ["import", str(root / "ledger" / "bench.csv"), "--date", IMPORTED.isoformat()])
            _run(env, ["run", "--date", NIGHT.isoformat()])
            yield Pipeline(root, env, url, count)


@contextlib.contextmanager
def _transport(tmp: Path, sftp: bool) -> Iterator[dict[str, object]]:
    if not sftp:
        yield {"transport": "file://output/print"}
        return
    from tests.servers.sshd import start_sshd

    with start_sshd(tmp / "sshd") as server:
        yield {"transport": server.url(server.remote_upload), "key": str(server.client_key),
               "known_hosts": str(server.known_hosts)}


@dataclass(frozen=True)
class Timing:
    letters: int
    batches: int
    wall: float
    cpu: float  # user + system seconds of the command and every process it started (render workers)
    processes: int


def _group_cpu(pgid: int, seen: dict[int, float], servers: set[int]) -> None:
    """CPU seconds so far of multiprocessing's fork server and of every render worker in the process group
    ``pgid`` (from /proc): the workers with the processes they waited for, the server without them (the
    workers are its children, which it waits for). ``servers``: the fork servers seen, so one still counts
    as one after the command has exited and it has been handed to init."""
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields after the name: state, ppid, pgrp, ...; utime, stime, cutime, cstime at 11 to 14
        if int(fields[2]) != pgid or int(entry) == pgid:
            continue
        try:  # the fork server (the leader's child) and its forks, the workers, have its command line
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                forked = b"multiprocessing.forkserver" in handle.read()
        except OSError:
            continue
        if forked:
            if int(fields[1]) == pgid:  # the server itself: its own time, its children are the workers
                servers.add(int(entry))
            server = int(entry) in servers
            used = sum(int(value) for value in fields[11 : 13 if server else 15]) / tick
            seen[int(entry)] = max(seen.get(int(entry), 0.0), used)


def run_letters(pipeline: Pipeline, workers: int) -> Timing:
    """``dunning letters --date NIGHT --workers W`` as a subprocess: wall time, and CPU time of all its processes.

    The command's own CPU time, with the processes it waits for, comes from ``getrusage(RUSAGE_CHILDREN)``.
    Multiprocessing's fork server (which the command never waits for) and the render workers (its children)
    are not in it, so the command runs in a process group of its own and they are sampled from /proc every
    50 ms: what one spends in its last 50 ms is missed.
    """
    import json
    import resource

    seen: dict[int, float] = {}
    servers: set[int] = set()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    command = [dunning_executable(), "letters", "--date", NIGHT.isoformat(), "--workers", str(workers),
               "--format", "json"]
    with subprocess.Popen(command, env=pipeline.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          start_new_session=True) as process:
        while process.poll() is None:
            _group_cpu(process.pid, seen, servers)
            time.sleep(0.05)
        out, err = process.communicate()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if process.returncode != 0:
        raise RuntimeError(f"dunning letters exited {process.returncode}: {err[-2000:]}")
    summary = json.loads(out)
    if summary["problems"] or summary["letters_sent"] != summary["rendered"]:
        raise RuntimeError(f"dunning letters: {summary}")
    return Timing(summary["letters_sent"], summary["batches"], wall, own + sum(seen.values()), 1 + len(seen))


def profile_letters(pipeline: Pipeline, out: Path) -> None:
    """The command in this process under cProfile, one worker (rendering in-process)."""
    import cProfile

    from click.testing import CliRunner

    from dunning.cli import cli

    os.environ.update(pipeline.env)
    profiler = cProfile.Profile()
    profiler.enable()
    result = CliRunner().invoke(cli, ["letters", "--date", NIGHT.isoformat(), "--workers", "1", "--format", "json"])
    profiler.disable()
    profiler.dump_stats(str(out))
    print(result.output[-600:], result.exception)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--sftp", action="store_true", help="deliver to a real sshd on 127.0.0.1 (else file://)")
    parser.add_argument("--database", default=None, help="PostgreSQL server URL (else SQLite in the workspace)")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--profile", type=Path, default=None, help="cProfile the command into this file")
    args = parser.parse_args()
    with prepared(args.count, sftp=args.sftp, admin_url=args.database, batch_size=args.batch_size) as pipeline:
        if args.profile:
            profile_letters(pipeline, args.profile)
            return
        timing = run_letters(pipeline, args.workers)
    print(describe(timing, args.workers))


def describe(timing: Timing, workers: int) -> str:
    return (f"{timing.letters} letters in {timing.batches} batch(es), {workers} workers: {timing.wall:.1f} s wall = "
            f"{timing.letters / timing.wall / workers:.1f} letters/s per core; {timing.cpu:.1f} CPU s over "
            f"{timing.processes} processes = {timing.letters / timing.cpu:.1f} letters per CPU second")


if __name__ == "__main__":
    main()
