"""``reportgen cache``: where the warm cache of loaded data lives, and emptying it (``reportgen.data.cache``)."""
from __future__ import annotations

import click

from reportgen.cli.app import main


@main.group("cache")
def cache_group() -> None:
    """The warm cache of typed data (REPORTGEN_CACHE_DIR; 'off' turns it off)."""


@cache_group.command("path")
def cache_path_command() -> None:
    """Print the cache folder (or 'off')."""
    from reportgen.data.cache import cache_dir

    folder = cache_dir()
    click.echo(str(folder) if folder is not None else "off (REPORTGEN_CACHE_DIR=off)")


@cache_group.command("clear")
def cache_clear_command() -> None:
    """Remove every cached dataset; the next build reads its files again."""
    from reportgen.data.cache import cache_dir, clear

    folder = cache_dir()
    click.echo(f"removed {clear(folder)} cached entries from {folder}" if folder is not None else "the cache is off")
