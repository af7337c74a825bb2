"""WeasyPrint's user-agent stylesheet without its footnote and note rules, for documents with neither.

Why: WeasyPrint's HTML5 stylesheet has five rules for the pseudo-elements of footnotes and notes
(``::footnote-call``, ``::footnote-marker``, ``::note-call``, ``::note-marker``, ``::note-callback``).
They match every element, so WeasyPrint computes five styles more for each element of every document,
about a tenth of a scorecard's PDF time. Those styles are read only for an element that is a footnote
(``float: footnote``) or a note (``position: note(...)``). A document that mentions neither is
rendered with the stylesheet minus these rules: the same cascade for everything it shows. Any
other document keeps WeasyPrint's own stylesheet.

WeasyPrint has no option for its user-agent stylesheet: ``HTML._ua_stylesheets`` is overridden here,
the way WeasyPrint's own test suite swaps in a lighter one. When the installed WeasyPrint no longer
has that stylesheet, or it no longer has exactly these five rules, nothing is changed.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

NOTE_RULES = re.compile(r"^::(?:footnote-call|footnote-marker|note-call|note-marker|note-callback) \{[^}]*\}\n",
                        re.M)
"""The five rules, one a line, as WeasyPrint's ``css/html5_ua.css`` writes them."""

_USES_NOTES = re.compile(r"footnote|note\(|\\", re.I)
"""``footnote`` or ``note(`` anywhere, or a backslash (a CSS escape could spell either)."""


@lru_cache(maxsize=1)
def lean_ua_stylesheet() -> tuple[Any, Any] | None:
    """``(WeasyPrint's HTML5 user-agent stylesheet, the same without the five rules)``, parsed once per
    process; ``None`` when the installed WeasyPrint does not have that stylesheet with exactly those five."""
    from weasyprint import CSS
    from weasyprint.css.counters import CounterStyle

    try:
        from weasyprint.html import UA, UA_STYLESHEET
    except ImportError:
        return None
    lean, removed = NOTE_RULES.subn("", UA)
    if removed != 5:
        return None
    return UA_STYLESHEET, CSS(string=lean, counter_style=CounterStyle())


def uses_notes(texts: Iterable[str]) -> bool:
    """Whether any of these texts (the HTML, its stylesheets) may make a footnote or a note: a text that
    says ``footnote`` or ``note(`` anywhere, or has a backslash, may (``float: footnote``, ``note()``)."""
    return any(_USES_NOTES.search(text) for text in texts)


@lru_cache(maxsize=1)
def lean_html_class() -> Any:
    """``weasyprint.HTML`` with the lean user-agent stylesheet in place of the HTML5 one (any other,
    such as the form stylesheet, stays); plain ``HTML`` when there is no lean stylesheet."""
    from weasyprint import HTML

    sheets = lean_ua_stylesheet()
    if sheets is None or not callable(getattr(HTML, "_ua_stylesheets", None)):
        return HTML
    stock, lean = sheets

    class LeanHTML(HTML):  # type: ignore[misc]  # WeasyPrint has no type hints: HTML is Any
        def _ua_stylesheets(self, *args: Any, **kwargs: Any) -> list[Any]:
            # whatever arguments this WeasyPrint passes go through unchanged
            return [lean if sheet is stock else sheet for sheet in super()._ua_stylesheets(*args, **kwargs)]

    return LeanHTML
