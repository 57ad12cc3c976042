"""Letter commands: ``dunning letters`` (render and send to the print house) and ``dunning preview``."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import click

from dunning.cli import EXIT_DELIVERY, EXIT_PROBLEMS, cli
from dunning.cli.context import date_option, format_option, get_store, get_workspace, resolve_date
from dunning.cli.output import console, emit, emit_object, err_console
from dunning.cli.progress import progress_bar
from dunning.errors import WorkspaceError
from dunning.letters import LetterKind
from dunning.usecases.letters.data import letter_for_case
from dunning.usecases.letters.render import render_letters
from dunning.usecases.letters.send import send_letters

KINDS = [kind.value for kind in LetterKind]


@cli.command("letters")
@date_option("Render and send the letters due on or before this date")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Rendering (and batch-assembling) processes (default: all cores).")
@format_option
@click.pass_context
def letters_command(ctx: click.Context, run_date: datetime | None, workers: int | None, fmt: str) -> None:
    """Render the planned letters to PDF and deliver them to the print house, exactly once.

    Needs the pay-link secret ($DUNNING_PAYLINK_SECRET or paylink.secret_file): every letter
    carries a pay link. Batches go to print.transport (a folder, or sftp:// with print.key and
    print.known_hosts or print.fingerprint). Running it twice sends nothing more; an interrupted run
    is completed by the next one.
    """
    workspace = get_workspace(ctx)
    store = get_store(ctx)
    day = resolve_date(ctx, run_date)
    with progress_bar("Rendering letters", fmt) as report:
        rendered = render_letters(store, workspace, day, workers=workers, env=os.environ, progress=report)
    with progress_bar("Delivering batches", fmt) as report:
        sent = send_letters(store, workspace, day, progress=report, workers=workers)
    summary = {
        "date": day.isoformat(),
        "rendered": rendered.rendered,
        "failed": rendered.failed,
        "no_address": rendered.no_address,
        "batches": len(sent.batches),
        "letters_sent": sent.letters,
        "recovered_batches": sent.recovered,
        "pages": sent.pages,
        "MB": round(sent.bytes / 1_000_000, 2),
    }
    problems = [str(p) for p in rendered.problems] + sent.problems
    if fmt == "json":
        emit_object({**summary, "batch_ids": sent.batches, "problems": problems, "notes": rendered.notes}, fmt)
    else:
        emit_object(summary, fmt, title=f"Letters {day.isoformat()}")
        for note in [*rendered.notes, *problems]:
            err_console.print(f"[yellow]note:[/] {note}", highlight=False)
    if sent.undelivered:
        ctx.exit(EXIT_DELIVERY)  # pending: the next `letters` or `deliver` delivers it
    if problems:
        ctx.exit(EXIT_PROBLEMS)


@cli.command("preview")
@click.argument("template", type=click.Choice(KINDS))
@click.option("--lang", "lang", type=click.Choice(["nl", "fr", "de", "en"]), required=True, help="Letter language.")
@click.option("--brand", default=None, help="Brand (a folder of layouts/; default: the workspace's brand).")
@click.option("--case", "case_id", type=int, default=None,
              help="Fill the letter from this case in the store (default: sample data; no workspace needed).")
@date_option("Letter date, with --case")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False), default=None,
              help="PDF to write (default: preview-TEMPLATE-LANG.pdf); the PNG of page 1 goes beside it.")
@click.pass_context
def preview_command(ctx: click.Context, template: str, lang: str, brand: str | None, case_id: int | None,
                    run_date: datetime | None, output: str | None) -> None:
    """Render one letter of TEMPLATE in a language, as a PDF and a PNG of its first page."""
    from dunning.letters import preview

    letter = None
    chosen_brand = brand
    if case_id is not None:
        workspace = get_workspace(ctx)
        letter = letter_for_case(get_store(ctx), workspace, case_id, resolve_date(ctx, run_date),
                                 LetterKind(template), env=os.environ)
        chosen_brand = brand or workspace.config.brand
    out_pdf = Path(output or f"preview-{template}-{lang}.pdf")
    try:
        png = preview(template, lang, chosen_brand or "default", out_pdf, letter)
    except ValueError as exc:
        raise click.ClickException(f"the letter cannot be rendered: {exc}") from None
    console.print(f"{out_pdf}  {png}", highlight=False)


@cli.command("brand-check")
@click.argument("brand", required=False)
@click.option("--layouts", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="Folder that holds the brand's folder (default: the workspace's layouts/, else the shipped ones).")
@click.option("--lang", "languages", multiple=True, type=click.Choice(["nl", "fr", "de", "en"]),
              help="Only these languages (repeatable; default: all four).")
@format_option
@click.pass_context
def brand_check_command(ctx: click.Context, brand: str | None, layouts: Path | None, languages: tuple[str, ...],
                        fmt: str) -> None:
    """Check that a brand's letters print in a batch exactly as in a preview, and print safely.

    Renders sample letters of every kind and language both ways and compares where each
    character and QR code lands (0.1 mm). A difference means the brand's CSS makes a box depend
    on its contents or a shared text block depend on its neighbours (README: designing a brand).
    Also names text or images within the printer's margin (print.margin_mm, default 5 mm) and a
    fold through a Swiss QR-bill. Exits 1 when a letter differs or would not print safely.
    """
    from dunning.letters import LetterRenderer
    from dunning.letters.check import LANGUAGES, check_brand, print_problems

    margin = None
    if brand is None or layouts is None:
        try:
            workspace = get_workspace(ctx)
        except WorkspaceError:
            workspace = None
        if workspace is not None:
            margin = workspace.config.print.margin_mm
            brand = brand or workspace.config.brand
            own = workspace.root / "layouts"
            layouts = layouts or (own if (own / brand / "brand.yaml").is_file() else None)
    brand = brand or "default"
    renderer = LetterRenderer(layouts_dir=layouts)
    renderer.brand(brand)  # a brand that does not load is a ConfigError, before any rendering
    problems = check_brand(brand, renderer, languages=languages or LANGUAGES)
    problems += print_problems(brand, renderer, margin_mm=margin, languages=languages or LANGUAGES)
    rows = [{"kind": p.kind, "language": p.language, "difference": p.message} for p in problems]
    if fmt == "json":
        emit_object({"brand": brand, "letters": len(LetterKind) * len(languages or LANGUAGES), "problems": rows}, fmt)
    elif rows:
        emit(rows, fmt, title=f"Brand {brand}: batch and preview differ, or not print-safe")
    else:
        console.print(f"Brand {brand}: every letter prints in a batch as in a preview.", highlight=False)
    if problems:
        ctx.exit(EXIT_PROBLEMS)
