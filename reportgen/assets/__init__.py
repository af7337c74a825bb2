"""Files shipped with reportgen (fonts), and the CSS that points at them.

The font travels with the package so a scorecard looks the same on a laptop, a CI runner and a
server without Inter installed: WeasyPrint and browsers get it through ``@font-face`` rules, never
through whatever fonts the machine happens to have.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

FONT_FAMILY = "Inter"
"""The one family every template and chart names; the fallbacks only matter if the font is missing."""

FONTS_DIR = Path(__file__).parent / "fonts"


@dataclass(frozen=True)
class FontFace:
    """One shipped face: the file and the CSS descriptors that select it."""

    file_name: str
    weight: int
    style: str


FONT_FACES: tuple[FontFace, ...] = (
    FontFace("Inter-Regular.woff2", 400, "normal"),
    FontFace("Inter-Italic.woff2", 400, "italic"),
    FontFace("Inter-SemiBold.woff2", 600, "normal"),
    FontFace("Inter-Bold.woff2", 700, "normal"),
)


def font_faces_css(embed: bool) -> str:
    """``@font-face`` rules for the shipped Inter faces.

    ``embed=True`` inlines each file as a base64 ``data:`` URL, for the self-contained HTML that is
    mailed or archived and must not depend on a path on this machine. ``embed=False`` uses
    ``file://`` URLs, which is what WeasyPrint reads cheapest when it builds the PDF here.
    """
    return "\n".join(_font_face_rule(face, _font_url(face, embed)) for face in FONT_FACES) + "\n"


def matplotlib_font_files() -> tuple[Path, ...]:
    """OTF files for matplotlib, whose FreeType cannot read WOFF2, so chart text is measured in Inter."""
    return (FONTS_DIR / "Inter-Regular.otf", FONTS_DIR / "Inter-SemiBold.otf")


def _font_url(face: FontFace, embed: bool) -> str:
    path = FONTS_DIR / face.file_name
    if not embed:
        return path.resolve().as_uri()
    encoded = base64.b64encode(path.read_bytes()).decode("ascii")
    return f"data:font/woff2;base64,{encoded}"


def _font_face_rule(face: FontFace, url: str) -> str:
    return (
        "@font-face {"
        f' font-family: "{FONT_FAMILY}";'
        f' src: url("{url}") format("woff2");'
        f" font-weight: {face.weight};"
        f" font-style: {face.style};"
        " }"
    )
