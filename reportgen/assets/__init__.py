"""Files shipped with reportgen (fonts), and the CSS that points at them.

The font travels with the package so a scorecard looks the same on a laptop, a CI runner and a
server without Inter installed: WeasyPrint and browsers get it through ``@font-face`` rules, never
through whatever fonts the machine happens to have.

Inter has no CJK glyphs, so a subset of Noto Sans CJK JP follows it in every font list (CSS, SVG
charts, matplotlib, Pillow): it draws only the characters Inter lacks, and a Latin page uses, embeds
and looks exactly as with Inter alone. What the subset holds, and how it is remade, is in
``fonts/README.md``.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

FONT_FAMILY = "Inter"
"""The one family every template and chart names; the fallbacks only matter if the font is missing."""

CJK_FAMILY = "Noto Sans CJK JP"
"""The fallback family after Inter, for the characters Inter lacks (kana, kanji, CJK punctuation)."""

FALLBACK_FAMILIES: tuple[str, ...] = (CJK_FAMILY,)
"""Families every font list names after the scorecard's own, in this order."""

CJK_LANGUAGES = frozenset({"ja"})
"""Languages whose self-contained HTML embeds the CJK faces (1-3 MB, too much for every other HTML)."""

FONTS_DIR = Path(__file__).parent / "fonts"


@dataclass(frozen=True)
class FontFace:
    """One shipped face: the file and the CSS descriptors that select it."""

    file_name: str
    weight: int
    style: str
    family: str = FONT_FAMILY


FONT_FACES: tuple[FontFace, ...] = (
    FontFace("Inter-Regular.woff2", 400, "normal"),
    FontFace("Inter-Italic.woff2", 400, "italic"),
    FontFace("Inter-SemiBold.woff2", 600, "normal"),
    FontFace("Inter-Bold.woff2", 700, "normal"),
)

CJK_FONT_FACES: tuple[FontFace, ...] = (
    FontFace("NotoSansCJKjp-Regular.subset.otf", 400, "normal", CJK_FAMILY),
    FontFace("NotoSansCJKjp-Bold.subset.woff2", 700, "normal", CJK_FAMILY),  # 600 selects it too
)


def font_faces_css(embed: bool, language: str = "en", text: str | None = None) -> str:
    """``@font-face`` rules for the shipped faces: Inter, and the CJK fallback.

    ``embed=False`` uses ``file://`` URLs, which is what WeasyPrint reads cheapest when it builds the
    PDF here; given the document's ``text``, the CJK fallback only when the text has characters Inter
    lacks (the PDF embeds only the glyphs a page uses).
    ``embed=True`` inlines each file as a base64 ``data:`` URL, for the self-contained HTML that is
    mailed or archived and must not depend on a path on this machine. Given the document's ``text``,
    the CJK faces are cut to the characters of it that Inter lacks (a Japanese scorecard: about 120 KB,
    not 3.6 MB of base64), and left out when there are none. Without it (a page whose text is not
    known yet) they are embedded whole, for a CJK ``language`` only.
    """
    if not embed:  # the PDF: the CJK files only for a text that needs them (WeasyPrint loads each face
        # it is given, 2.7 MB for these two: about 0.1 s and temporary files for every Latin document)
        needed = text is None or bool(frozenset(ord(ch) for ch in text if ch > "\x7f") - _inter_code_points())
        faces = FONT_FACES + (CJK_FONT_FACES if needed else ())
        rules = [_font_face_rule(face, _font_url(face, embed)) for face in faces]
    elif text is None:
        faces = FONT_FACES + (CJK_FONT_FACES if language in CJK_LANGUAGES else ())
        rules = [_font_face_rule(face, _font_url(face, embed)) for face in faces]
    else:
        rules = [_font_face_rule(face, _font_url(face, embed)) for face in FONT_FACES]
        lacking = frozenset(ord(ch) for ch in text if ch > "\x7f") - _inter_code_points()
        if lacking:
            rules += [_font_face_rule(face, _subset_data_url(face.file_name, lacking)) for face in CJK_FONT_FACES]
    return "\n".join(rules) + "\n"


def font_stack(family: str = FONT_FAMILY) -> tuple[str, ...]:
    """The families a text names, first to last: the scorecard's, Inter, the CJK fallback."""
    return tuple(dict.fromkeys((family, FONT_FAMILY, *FALLBACK_FAMILIES)))


def matplotlib_font_files() -> tuple[Path, ...]:
    """OTF files for matplotlib, whose FreeType cannot read WOFF2, so chart text is measured in Inter
    (and in the CJK fallback for the characters Inter lacks)."""
    return (FONTS_DIR / "Inter-Regular.otf", FONTS_DIR / "Inter-SemiBold.otf",
            FONTS_DIR / CJK_FONT_FACES[0].file_name)


def raster_font_file(text: str) -> Path:
    """The OTF Pillow draws ``text`` with (Pillow has no per-glyph fallback): Inter, or the CJK
    subset when Inter lacks one of its characters (the subset has ASCII and Latin-1 too)."""
    if all(ord(ch) in _inter_code_points() for ch in text):
        return FONTS_DIR / "Inter-Regular.otf"
    return FONTS_DIR / CJK_FONT_FACES[0].file_name


INTER_CODE_POINTS = FONTS_DIR / "Inter.codepoints"
"""The characters Inter draws, as ranges of hexadecimal code points, one per line (``0020-007E``):
written from the font by :func:`write_code_points`, checked against it by the tests."""


@lru_cache(maxsize=1)
def _inter_code_points() -> frozenset[int]:
    """What Inter draws. Read from :data:`INTER_CODE_POINTS`, not from the font: importing fontTools
    and reading the OTF's character map cost every build 0.07 s."""
    points: set[int] = set()
    for line in INTER_CODE_POINTS.read_text(encoding="ascii").split():
        first, _, last = line.partition("-")
        points.update(range(int(first, 16), int(last or first, 16) + 1))
    return frozenset(points)


def font_code_points(path: Path) -> frozenset[int]:
    """The code points a font file's character map draws (fontTools)."""
    from fontTools.ttLib import TTFont

    with TTFont(path, lazy=True) as font:
        return frozenset(font.getBestCmap())


def write_code_points(font: Path = FONTS_DIR / "Inter-Regular.otf", target: Path = INTER_CODE_POINTS) -> None:
    """Write :data:`INTER_CODE_POINTS` from ``font`` (after the shipped Inter changes)."""
    points = sorted(font_code_points(font))
    ranges: list[list[int]] = []
    for point in points:
        if ranges and point == ranges[-1][1] + 1:
            ranges[-1][1] = point
        else:
            ranges.append([point, point])
    target.write_text("".join(f"{a:04X}-{b:04X}\n" if a != b else f"{a:04X}\n" for a, b in ranges),
                      encoding="ascii")


def _font_url(face: FontFace, embed: bool) -> str:
    path = FONTS_DIR / face.file_name
    if not embed:
        return path.resolve().as_uri()
    encoded = base64.b64encode(path.read_bytes()).decode("ascii")
    return f"data:font/{path.suffix.lstrip('.')};base64,{encoded}"


@lru_cache(maxsize=16)
def _subset_data_url(file_name: str, code_points: frozenset[int]) -> str:
    """A shipped face cut to ``code_points``, as an OTF ``data:`` URL (the same characters give the same
    bytes: no timestamp is rewritten, so rebuilds stay byte-identical)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(FONTS_DIR / file_name, recalcTimestamp=False)
    options = subset.Options()
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.hinting = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(code_points))
    subsetter.subset(font)
    font.flavor = None  # OTF: no Brotli pass for a few dozen KB
    buffer = io.BytesIO()
    font.save(buffer)
    return f"data:font/otf;base64,{base64.b64encode(buffer.getvalue()).decode('ascii')}"


def _font_face_rule(face: FontFace, url: str) -> str:
    return (
        "@font-face {"
        f' font-family: "{face.family}";'
        f' src: url("{url}") format("{_format_of(url)}");'
        f" font-weight: {face.weight};"
        f" font-style: {face.style};"
        " }"
    )


def _format_of(url: str) -> str:
    """The CSS ``format()`` of a shipped file's URL: a ``data:font/woff2`` or ``.woff2`` URL, else OTF."""
    return "woff2" if url.startswith("data:font/woff2") or url.endswith(".woff2") else "opentype"
