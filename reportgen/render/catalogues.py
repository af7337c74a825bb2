"""Message catalogues (gettext ``.po`` files, read with Babel): the UI labels and the sentence patterns
of the languages shipped as catalogues, in ``locales/<language>/LC_MESSAGES/reportgen.po``.

Why gettext: translators work in ``.po`` files with the tools they know (Poedit, Weblate, ``pybabel``),
each string with its English original, and a new language is a new file, not a code change. A label
is an entry without context, keyed by its English text (as :data:`reportgen.render.labels.LABELS`
is); a sentence pattern of the "what changed" box has the context ``sentence:<key>`` and a prior-period
phrase ``grain:<grain>`` (see :mod:`reportgen.render.narrative`). English, German and French are
still kept in Python (``labels.py``, ``narrative.py``); every other shipped language is a catalogue.
The ``.po`` text is read directly (no compiled ``.mo`` to keep in step), once per process and
language, on first use.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

CATALOGUE_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "reportgen"


def catalogue_languages() -> tuple[str, ...]:
    """The languages shipped as catalogues (``es``, ``it``, ...), sorted."""
    if not CATALOGUE_DIR.is_dir():
        return ()
    return tuple(sorted(p.parent.parent.name for p in CATALOGUE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")))


@lru_cache(maxsize=16)
def _entries(language: str) -> dict[tuple[str | None, str], str]:
    from babel.messages.pofile import read_po

    path = CATALOGUE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as f:
        catalog = read_po(f, locale=language, domain=DOMAIN)
    return {(message.context, str(message.id)): str(message.string)
            for message in catalog if message.id and message.string}


def catalogue_labels(language: str) -> dict[str, str]:
    """The language's UI labels by English text (entries without context)."""
    return {msgid: text for (context, msgid), text in _entries(language).items() if context is None}


def catalogue_section(language: str, section: str) -> dict[str, str]:
    """Entries whose context is ``<section>:<key>``, by key: ``catalogue_section('es', 'sentence')['up']``."""
    prefix = f"{section}:"
    return {context.removeprefix(prefix): text for (context, _), text in _entries(language).items()
            if context is not None and context.startswith(prefix)}


@lru_cache(maxsize=1)
def _languages() -> frozenset[str]:
    return frozenset(catalogue_languages())


class WithCatalogues(dict[str, dict[str, str]]):
    """A table by language (the labels, the sentence patterns) whose catalogue languages are read on
    first lookup: importing the renderer reads no ``.po`` file, a German scorecard never reads the
    Spanish one. ``in``, ``[]`` and ``get`` see the catalogue languages as if they were there."""

    def __init__(self, table: dict[str, dict[str, str]], load: Callable[[str], dict[str, str]]) -> None:
        super().__init__(table)
        self._load = load

    def __missing__(self, language: str) -> dict[str, str]:
        if language not in _languages():
            raise KeyError(language)
        self[language] = entries = self._load(language)
        return entries

    def get(self, language: str, default: Any = None) -> Any:
        try:
            return self[language]
        except KeyError:
            return default

    def __contains__(self, language: object) -> bool:
        return super().__contains__(language) or language in _languages()
