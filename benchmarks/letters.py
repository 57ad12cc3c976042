"""Letter rendering benchmark (run on demand, not a test).

Prints, in one run, for first reminders with EPC QR and pay-link QR, each to another debtor (name,
customer number, address), in nl, fr, de and en, with one to three invoices:

1. the naive baseline: one ``HTML(...).write_pdf()`` per letter, each parsing its own
   stylesheet and fonts (what a straightforward implementation does);
2. batch rendering on one core (``render_parallel(workers=1)``: one document per chunk,
   stylesheets and fonts parsed once, page 1's fixed layer and the text blocks letters share
   laid out once per process and stamped into each letter, page 1's address and value lines
   and the claim table placed from probes laid out once, QR codes drawn after layout, see
   ``dunning.letters.forms``, ``dunning.letters.memo`` and ``dunning.letters.placing``):
   letters/s per core, and the ratio to (1);
3. all cores (``render_parallel``, processes): letters/s, the speed-up over one core,
   and the resident memory of every worker at 1k, 5k and 10k letters (flat = no leak);
4. the pipeline: ``dunning letters`` as a user runs it (``benchmarks/letters_pipeline.py``): a fresh
   workspace with ``--pipeline-count`` first reminders planned (imported and planned untimed), then the
   command timed as a subprocess: start-up, loading the actions, rendering, writing and recording each
   PDF, batching, assembling the batch PDFs, manifests and tickets, delivering them over
   ``print.transport`` (``file://``, or with ``--sftp`` a real OpenSSH sshd on 127.0.0.1) and recording
   every letter sent; letters/s per core on wall time and letters per CPU second of all its processes,
   printed beside the renderer alone (2).

Budgets (DESIGN.md section 7): >= 40 letters/s per core, >= 2x the naive loop, flat memory
over 10 000 letters, scales with cores; issue 17: the pipeline (4) at >= 40 letters/s per core too.
Rates are wall-clock; CPU seconds are printed beside them because a shared machine makes wall time noisy.

    python benchmarks/letters.py --count 2000 [--pipeline-count 2000] [--sftp] [--database URL]
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dunning.letters import LetterKind, LetterRenderer, render_parallel
from dunning.letters.render import CHUNK_SIZE
from dunning.letters.samples import sample_letter


def rss_mib(pid: int | str = "self") -> tuple[float, float]:
    """(current RSS, peak RSS) in MiB of a process, from /proc."""
    values = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                values[line.split(":")[0]] = int(line.split()[1]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


def make_letters(count: int) -> list:
    """First reminders to ``count`` debtors: languages in turn, 1 to 3 invoices, each debtor's own name and address."""
    letters = []
    for i in range(count):
        language = ("nl", "fr", "de", "en")[i % 4]
        base = sample_letter(LetterKind.FIRST_REMINDER, language, "default", invoices=(1, 1, 2, 3)[(i // 4) % 4],
                             case_number=2026000000 + i,
                             pay_link=f"https://pay.example.com/p/QzIw{i:06d}MjAyNzAxMzEFx9b3e6z_Rk2pL0sWq1Yt")
        debtor = dataclasses.replace(base.debtor, name=f"Debtor {i}", customer_number=f"D{i:06d}",
                                     address_lines=(f"Kerkstraat {i}", *base.debtor.address_lines[1:]))
        letters.append(dataclasses.replace(base, letter_id=f"B{i:06d}", debtor=debtor))
    return letters


def naive(letters: list) -> tuple[float, float]:
    """One document per letter, stylesheet and fonts parsed each time: (wall s, cpu s)."""
    from weasyprint import CSS, HTML

    renderer = LetterRenderer()  # only to produce the same HTML and CSS text
    css_text = renderer.css_text("default")
    sections = [renderer.letter_html(letter) for letter in letters]
    wall, cpu = time.perf_counter(), time.process_time()
    for section in sections:
        html = f'<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>{section}</body></html>'
        HTML(string=html).write_pdf(stylesheets=[CSS(string=css_text)])
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000, help="letters for the all-cores and memory run")
    parser.add_argument("--chunk", type=int, default=CHUNK_SIZE, help="letters per WeasyPrint document")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--pipeline-count", type=int, default=2000, help="letters for the pipeline (0: skip it)")
    parser.add_argument("--sftp", action="store_true", help="pipeline: deliver to a real sshd (else file://)")
    parser.add_argument("--database", default=None, help="pipeline: PostgreSQL server URL (else SQLite)")
    args = parser.parse_args()

    letters = make_letters(args.count)
    print(f"letters: {args.count}, chunk: {args.chunk}, cores: {os.cpu_count()}, workers: {args.workers}")

    n_naive = max(20, min(100, args.count // 20))
    naive(letters[:3])  # warm up imports and fontconfig
    wall, cpu = naive(letters[:n_naive])
    naive_rate, naive_cpu_rate = n_naive / wall, n_naive / cpu
    print(f"naive loop      {n_naive:6d} letters  {naive_rate:6.1f} letters/s  (cpu {naive_cpu_rate:6.1f}/s)")

    n_one = min(args.count, max(args.chunk * 3, 1000))
    list(render_parallel(letters[: args.chunk // 4 or 1], workers=1, chunk_size=args.chunk))  # warm up
    wall, cpu = time.perf_counter(), time.process_time()
    pages = sum(r.page_count for r in render_parallel(letters[:n_one], workers=1, chunk_size=args.chunk))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    one_rate, one_cpu_rate = n_one / wall, n_one / cpu
    print(f"batch, 1 core   {n_one:6d} letters  {one_rate:6.1f} letters/s  (cpu {one_cpu_rate:6.1f}/s)  "
          f"{pages} pages")
    print(f"  per core: {one_cpu_rate:.1f} letters per CPU second (budget >= 40)")
    print(f"  vs naive: {one_cpu_rate / naive_cpu_rate:.2f}x on CPU time, {one_rate / naive_rate:.2f}x on wall time "
          f"(budget >= 2x)")

    milestones = [m for m in (1_000, 5_000, 10_000) if m <= args.count] or [args.count]
    done = 0
    wall = time.perf_counter()
    print(f"all cores       rendering {args.count} letters over {args.workers} worker processes")
    for result in render_parallel(letters, workers=args.workers, chunk_size=args.chunk):
        assert not result.problems, result.problems
        done += len(result.letters)
        if milestones and done >= milestones[0]:
            workers = multiprocessing.active_children()
            rss = ", ".join(f"{rss_mib(p.pid)[0]:.0f}" for p in workers if p.pid and os.path.exists(f"/proc/{p.pid}"))
            print(f"  at {done:6d} letters: {done / (time.perf_counter() - wall):6.1f} letters/s, "
                  f"worker RSS MiB [{rss}], parent RSS {rss_mib()[0]:.0f} MiB")
            milestones.pop(0)
    all_rate = args.count / (time.perf_counter() - wall)
    print(f"all cores       {args.count:6d} letters  {all_rate:6.1f} letters/s  speed-up over 1 core: "
          f"{all_rate / one_rate:.2f}x on {args.workers} workers")
    if args.pipeline_count:
        pipeline(args, one_cpu_rate, all_rate / args.workers)


def pipeline(args: argparse.Namespace, renderer_cpu_rate: float, renderer_per_core: float) -> None:
    """``dunning letters`` as a user runs it, timed (benchmarks/letters_pipeline.py), beside the renderer alone."""
    from benchmarks.letters_pipeline import describe, prepared, run_letters

    where = "sftp to sshd on 127.0.0.1" if args.sftp else "file://"
    store = "PostgreSQL" if args.database else "SQLite"
    print(f"pipeline        `dunning letters --workers {args.workers}`, {args.pipeline_count} letters, {store}, "
          f"{where} (preparing the workspace, untimed)")
    with prepared(args.pipeline_count, sftp=args.sftp, admin_url=args.database) as workspace:
        timing = run_letters(workspace, args.workers)
    print(f"  {describe(timing, args.workers)}")
    print(f"  per core: pipeline {timing.letters / timing.wall / args.workers:.1f} letters/s (wall), "
          f"{timing.letters / timing.cpu:.1f} per CPU second; renderer alone {renderer_per_core:.1f} letters/s "
          f"(wall, all cores), {renderer_cpu_rate:.1f} per CPU second (1 core)  (budget >= 40)")


if __name__ == "__main__":
    main()
