"""The print HTML taken apart for WeasyPrint: its charts as in-memory images, its ``<style>`` text apart.

Why: WeasyPrint's own HTML parser, style cascade and box builder are pure Python and cost per
element and per character. A chart inlined as ``<svg>`` is a few dozen elements that WeasyPrint
parses as HTML, cascades the whole stylesheet over and then serialises again for its SVG renderer;
as ``<img src="reportgen-asset:chart-N.svg">`` it is one element, and the SVG goes straight to the
SVG renderer (the same drawing, pixel for pixel). The scorecard's stylesheet is the same text in
every report of a run, so :mod:`.writer` parses it once per process instead of once per report; for
that it needs the ``<style>`` text out of the document, in order.

Only text is handled here (no WeasyPrint import); the HTML file written for people keeps its
inline charts and styles.
"""
from __future__ import annotations

import re
from html import escape, unescape

CHART_MIME = "image/svg+xml"

_CHART = re.compile(r"<svg\b(?P<attrs>[^>]*\bclass=\"rg-chart\"[^>]*)>(?P<body>.*?)</svg>", re.S)
_LABEL = re.compile(r'\saria-label=(?P<q>["\'])(?P<value>.*?)(?P=q)', re.S)
_STYLE = re.compile(r"<style>(?P<css>.*?)</style>", re.S | re.I)
_HEAD_END = re.compile(r"</head\s*>", re.I)
_TITLE = re.compile(r"<title\b.*?</title\s*>", re.S | re.I)
_RAW_TEXT_OR_FOREIGN = re.compile(r"<!--|<(script|link|base|template|noscript|textarea|xmp|iframe|noembed|"
                                  r"noframes|plaintext|svg|math)\b", re.I)
_SHARED_BY_THE_DOCUMENT = re.compile(r"@(import|layer|counter-style|color-profile)\b|@\\", re.I)  # @\69mport too


def chart_assets(html: str, prefix: str = "chart") -> tuple[str, dict[str, tuple[bytes, str]]]:
    """The HTML with each reportgen chart (``<svg class="rg-chart">``) replaced by an ``<img>`` of the
    same class, its label as alt text, that loads the SVG from memory, and the SVGs by name for the
    fetcher. The chart's id stays inside the SVG: on the image it would only make WeasyPrint compute
    the image's style apart (and no link points at a chart).

    Only the charts reportgen draws are moved: any other inline SVG (a user template's) stays as it
    is, since the page's CSS may select it by its ``svg`` tag. A chart that contains another ``<svg>``
    (none of ours does) is left inline too."""
    assets: dict[str, tuple[bytes, str]] = {}

    def to_image(match: re.Match[str]) -> str:
        if "<svg" in match["body"]:
            return match[0]
        label = _LABEL.search(match["attrs"])
        name = f"{prefix}-{len(assets) + 1}.svg"
        assets[name] = (match[0].encode("utf-8"), CHART_MIME)
        alt = escape(unescape(label["value"])) if label else ""
        return f'<img class="rg-chart" src="reportgen-asset:{name}" alt="{alt}">'

    return _CHART.sub(to_image, html), assets


def split_styles(html: str) -> tuple[str, list[str]] | None:
    """``(html without its <style> elements, their texts in document order)``, or ``None`` when the
    document is not one whose styles can be taken out without changing what they mean.

    Taken out means passed to WeasyPrint as stylesheets of their own, which are of the *user* origin:
    among themselves they cascade as before (same order, same specificity), and they still lose to a
    ``style`` attribute. So every ``<style>`` must be a plain one in the head, and nothing may compete
    with them: no ``<link>`` stylesheet, no style in the body or in an SVG, no ``<base>`` (the sheets
    resolve URLs against the base URL given), no comment or raw-text element where a ``<style>``
    could hide, no ``@import``, ``@layer``, ``@counter-style`` or
    ``@color-profile`` (WeasyPrint resolves those across a document's own stylesheets only). Anything
    else returns ``None`` and the document goes to WeasyPrint whole, as it always did."""
    head_end = _HEAD_END.search(html)
    if head_end is None:
        return None
    head, rest = html[:head_end.start()], html[head_end.start():]
    if "<style" in rest.lower() or "<link" in rest.lower():
        return None
    outside = _STYLE.sub("", head)
    if "<style" in outside.lower() or _RAW_TEXT_OR_FOREIGN.search(outside):
        return None
    if any("<style" in title.lower() for title in _TITLE.findall(head)):
        return None
    styles = [m["css"] for m in _STYLE.finditer(head)]
    if any(_SHARED_BY_THE_DOCUMENT.search(css) for css in styles):
        return None
    return outside + rest, styles
