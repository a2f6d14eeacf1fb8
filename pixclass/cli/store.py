"""Commands that fill and empty the database: ``ingest``, ``collections``, ``export``, ``db``."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator

import click

from pixclass.cli.common import err_console, get_settings, progress_bars, user_errors
from pixclass.io.imageset import SkippedImage
from pixclass.services.admin import (
    check_consistency,
    collect_garbage,
    create_store_engine,
    current_revision,
    head_revision,
    upgrade,
)
from pixclass.services.collections import (
    Store,
    create_collection,
    delete_collection,
    list_collections,
    open_store,
)
from pixclass.services.export import EXPORT_FORMATS, export_collection
from pixclass.services.ingest import BATCH_SIZE
from pixclass.services.ingest import ingest as ingest_source

# Skipped files listed one by one up to this many; beyond, the reasons are counted.
MAX_LISTED = 20


@contextlib.contextmanager
def opened_store(ctx: click.Context) -> Iterator[Store]:
    """The store the settings name, closed at the end (library errors become one line)."""
    with user_errors(), open_store(get_settings(ctx)) as store:
        yield store


@click.command("ingest")
@click.argument("source")
@click.option("--collection", "-c", required=True, help="Collection to add to (created if new).")
@click.option("--jobs", "-j", default=2, show_default=True, help="Threads reading the files.")
@click.option(
    "--batch-size",
    default=BATCH_SIZE,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Images per transaction (a kill loses at most one batch).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option(
    "--report", type=click.Path(dir_okay=False), help="Write every skipped file and why (CSV)."
)
@click.pass_context
def ingest(
    ctx: click.Context,
    source: str,
    collection: str,
    jobs: int,
    batch_size: int,
    quiet: bool,
    report: str | None,
) -> None:
    """Add the images of SOURCE to a collection: a folder, a .zip, or mnist / fashion-mnist /
    digits. Running it again adds only what is new; an interrupted ingest continues."""
    with opened_store(ctx) as store, progress_bars(not quiet) as progress:
        result = ingest_source(
            store,
            source,
            collection,
            settings=get_settings(ctx),
            n_jobs=jobs,
            batch_size=batch_size,
            progress=progress,
        )
    _print_skipped(result.skipped, report)
    names = f" ({result.names_added} under a new name)" if result.names_added else ""
    click.echo(
        f"{collection}: {result.added} added, {result.present} already present{names}, "
        f"{len(result.skipped)} skipped ({result.seconds:.1f} s)"
    )


def _print_skipped(skipped: list[SkippedImage], report: str | None) -> None:
    if report:
        from pixclass.io.results import write_skipped

        write_skipped(report, skipped)
    for item in skipped[:MAX_LISTED]:
        err_console.print(f"skipped {item.path}: {item.reason}", highlight=False, markup=False)
    if len(skipped) > MAX_LISTED:
        counts = Counter(item.reason for item in skipped)
        summary = "; ".join(f"{reason} ({n})" for reason, n in counts.most_common())
        err_console.print(
            f"... and {len(skipped) - MAX_LISTED} more skipped; all reasons: {summary}. "
            + (f"Every one is listed in {report}" if report else "List them all with --report"),
            highlight=False,
            markup=False,
        )


@click.group("collections")
def collections() -> None:
    """List, create and delete collections."""


@collections.command("list")
@click.pass_context
def collections_list(ctx: click.Context) -> None:
    """Every collection with its number of images and runs."""
    with opened_store(ctx) as store:
        infos = list_collections(store)
    if not infos:
        err_console.print("no collections yet; add one with `pixclass ingest SOURCE -c NAME`")
    for info in infos:
        created = info.created_at.strftime("%Y-%m-%d %H:%M")
        click.echo(f"{info.name}\t{info.n_images} images\t{info.n_runs} runs\tcreated {created}")


@collections.command("create")
@click.argument("name")
@click.pass_context
def collections_create(ctx: click.Context, name: str) -> None:
    """Create an empty collection."""
    with opened_store(ctx) as store:
        create_collection(store, name)
    click.echo(f"created collection {name}")


@collections.command("delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def collections_delete(ctx: click.Context, name: str, yes: bool) -> None:
    """Delete a collection with its images, runs and labels."""
    if not yes:
        click.confirm(f"Delete collection {name!r} with all its images and runs?", abort=True)
    with opened_store(ctx) as store:
        count = delete_collection(store, name)
    click.echo(f"deleted collection {name} ({count} images)")


@click.command("export")
@click.argument("dest")
@click.option("--collection", "-c", required=True, help="Collection to export.")
@click.option("--run", "run_id", type=int, default=None, help="Run (default: the newest done).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(EXPORT_FORMATS),
    default="csv",
    show_default=True,
    help="csv/json: a listing (DEST may be -); folders/zip: the original files by class.",
)
@click.option("--overwrite", is_flag=True, help="Replace DEST if it exists.")
@click.pass_context
def export(
    ctx: click.Context, dest: str, collection: str, run_id: int | None, fmt: str, overwrite: bool
) -> None:
    """Write the classes of a collection to DEST, named as people named them (else cluster-N)."""
    with opened_store(ctx) as store, progress_bars(fmt in ("folders", "zip")) as progress:
        result = export_collection(
            store, collection, dest, fmt=fmt, run_id=run_id, overwrite=overwrite, progress=progress
        )
    err_console.print(
        f"exported {result.n_images} images in {result.n_classes} classes from run "
        f"{result.run_id} to {result.dest}",
        highlight=False,
    )


@click.group("db")
def db() -> None:
    """The database: schema revision and upgrade, consistency check, garbage collection."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Bring the database schema up to date (creates it when the database is empty)."""
    settings = get_settings(ctx)
    if not settings.database_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    with user_errors():
        engine = create_store_engine(settings.resolved_database_url)
        try:
            before, after = upgrade(engine)
        finally:
            engine.dispose()
    where = engine.url.render_as_string(hide_password=True)
    if before == after:
        click.echo(f"{where}: already at revision {after} (up to date)")
    else:
        click.echo(f"{where}: upgraded from {before or 'an empty database'} to {after}")


@db.command("current")
@click.pass_context
def db_current(ctx: click.Context) -> None:
    """Show the schema revision of the database and whether it is up to date."""
    settings = get_settings(ctx)
    with user_errors():
        engine = create_store_engine(settings.resolved_database_url)
        try:
            revision = current_revision(engine)
        finally:
            engine.dispose()
    head = head_revision()
    state = "up to date" if revision == head else f"needs {head}: run `pixclass db upgrade`"
    click.echo(f"{revision or 'no schema'} ({state})")
    if revision != head:  # scripts check the exit status before they start the app
        ctx.exit(1)


@db.command("check")
@click.option("--no-hashes", is_flag=True, help="Skip re-hashing every stored image (faster).")
@click.pass_context
def db_check(ctx: click.Context, no_hashes: bool) -> None:
    """Check that every image has its bytes (hashing to its SHA-256) and no bytes are orphaned."""
    with opened_store(ctx) as store:
        found = check_consistency(store, verify_hashes=not no_hashes)
    problems: dict[str, list[int] | list[str]] = {
        "images without their bytes": found.images_without_bytes,
        "stored contents no image uses (`pixclass db gc` removes them)": found.unused_blobs,
        "files in the blob directory the database does not know": found.unregistered_files,
        "images whose bytes do not match their SHA-256": found.wrong_hashes,
    }
    for what, items in problems.items():
        if items:
            shown = ", ".join(str(item) for item in items[:10])
            more = f" and {len(items) - 10} more" if len(items) > 10 else ""
            err_console.print(f"{len(items)} {what}: {shown}{more}", highlight=False)
    click.echo(f"{found.n_images} images checked: {'ok' if found.ok else 'PROBLEMS FOUND'}")
    if not found.ok:
        ctx.exit(1)


@db.command("gc")
@click.pass_context
def db_gc(ctx: click.Context) -> None:
    """Remove stored image bytes that no image uses any more (and files of killed ingests)."""
    with opened_store(ctx) as store:
        found = collect_garbage(store)
    click.echo(f"removed {found.blobs_removed} unused contents, {found.files_removed} files")
