"""``reportgen cache``: where the warm cache of loaded data lives, and emptying it (``reportgen.data.cache``)."""
from __future__ import annotations

import shutil

import click

from reportgen.cli.app import main


@main.group("cache")
def cache_group() -> None:
    """The warm cache of typed data and computed metrics (REPORTGEN_CACHE_DIR; 'off' turns it off)."""


@cache_group.command("path")
def cache_path_command() -> None:
    """Print the cache folder (or 'off')."""
    from reportgen.data.cache import cache_dir

    folder = cache_dir()
    click.echo(str(folder) if folder is not None else "off (REPORTGEN_CACHE_DIR=off)")


@cache_group.command("clear")
def cache_clear_command() -> None:
    """Remove every cached dataset, computed metric table, compiled template and remembered file hash;
    the next build reads its files again."""
    from reportgen.data import digests
    from reportgen.data.cache import cache_dir, clear
    from reportgen.pipeline import metric_cache

    folder = cache_dir()
    if folder is None:
        click.echo("the cache is off")
        return
    removed = clear(folder) + metric_cache.clear(folder / metric_cache.FOLDER)
    shutil.rmtree(folder / "templates", ignore_errors=True)  # compiled templates (render.sandbox)
    shutil.rmtree(folder / digests.FOLDER, ignore_errors=True)  # remembered file hashes
    click.echo(f"removed {removed} cached entries from {folder}")
