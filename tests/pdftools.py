"""Helpers to check generated PDFs by what they contain and show, never by their bytes.

Why: two correct PDFs of the same report differ byte for byte (timestamps, ids, subset tags),
so tests compare extracted text, page count, fonts, bookmarks, metadata, word positions and
rendered pages instead. Font embedding matters for a print-grade report: a font that is not
embedded is substituted by the viewer and the layout changes, so ``pdf_fonts`` refuses them
unless asked not to.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pdfplumber
from pypdf import PdfReader
from pypdf.generic import DictionaryObject, PdfObject

_SUBSET_TAG = re.compile(r"^[A-Z]{6}\+")


class NonEmbeddedFontError(AssertionError):
    """A PDF uses a font whose program is not inside the file."""


@dataclass(frozen=True)
class FontInfo:
    """One font a PDF uses: its name without subset tag, its PDF subtype, whether embedded."""

    name: str
    subtype: str
    embedded: bool


@dataclass(frozen=True)
class Word:
    """A word on a page, in PDF points with the origin at the top left (pdfplumber's frame)."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    page_width: float
    page_height: float


def pdf_text(path: Path) -> str:
    """All text of the PDF, pages separated by a form feed (\\f), as pdfplumber extracts it."""
    with pdfplumber.open(str(path)) as pdf:
        return "\f".join(page.extract_text() or "" for page in pdf.pages)


def pdf_pages(path: Path) -> int:
    """Number of pages."""
    return len(PdfReader(str(path)).pages)


def _resolve(obj: Any) -> Any:
    return obj.get_object() if isinstance(obj, PdfObject) else obj


def _font_embedded(font: DictionaryObject) -> bool:
    """Whether a font dictionary carries its font program (Type3 glyphs are always inline)."""
    subtype = str(font.get("/Subtype", ""))
    if subtype == "/Type3":
        return True
    if subtype == "/Type0":
        descendants = _resolve(font.get("/DescendantFonts"))
        if not descendants:
            return False
        font = _resolve(descendants[0])
    descriptor = _resolve(font.get("/FontDescriptor"))
    if descriptor is None:
        return False
    return any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))


def _fonts_in_resources(resources: Any, seen: set[int], out: dict[str, FontInfo]) -> None:
    resources = _resolve(resources)
    if not resources:
        return
    for font_ref in (_resolve(resources.get("/Font")) or {}).values():
        font = _resolve(font_ref)
        name = _SUBSET_TAG.sub("", str(font.get("/BaseFont", "?")).lstrip("/"))
        info = FontInfo(name=name, subtype=str(font.get("/Subtype", "")).lstrip("/"), embedded=_font_embedded(font))
        # A name seen both embedded and not embedded counts as not embedded.
        if name not in out or not info.embedded:
            out[name] = info
    # Form XObjects (e.g. charts drawn as vectors) have resources of their own.
    for xobj_ref in (_resolve(resources.get("/XObject")) or {}).values():
        xobj = _resolve(xobj_ref)
        key = id(xobj)
        if key in seen or xobj.get("/Subtype") != "/Form":
            continue
        seen.add(key)
        _fonts_in_resources(xobj.get("/Resources"), seen, out)


def pdf_font_info(path: Path) -> dict[str, FontInfo]:
    """Every font used by any page (and the forms it draws), keyed by name without subset tag."""
    out: dict[str, FontInfo] = {}
    seen: set[int] = set()
    for page in PdfReader(str(path)).pages:
        _fonts_in_resources(page.get("/Resources"), seen, out)
    return out


def pdf_fonts(path: Path, require_embedded: bool = True) -> set[str]:
    """Names of the fonts the PDF uses (subset tags stripped, e.g. ``DejaVuSans-Bold``).

    Raises NonEmbeddedFontError naming the culprits if any font is not embedded, unless
    ``require_embedded`` is False (then use :func:`pdf_font_info` to see which).
    """
    info = pdf_font_info(path)
    if require_embedded:
        missing = sorted(name for name, f in info.items() if not f.embedded)
        if missing:
            raise NonEmbeddedFontError(f"{path}: fonts not embedded: {', '.join(missing)}")
    return set(info)


def pdf_outline_titles(path: Path) -> list[str]:
    """Bookmark titles, depth first in document order (nesting flattened)."""
    reader = PdfReader(str(path))
    titles: list[str] = []

    def walk(items: list[Any]) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                titles.append(str(item.title))

    walk(reader.outline)
    return titles


def pdf_metadata(path: Path) -> dict[str, str]:
    """Document information (Title, Author, Creator, Producer, ...), keys without the slash."""
    meta = PdfReader(str(path)).metadata or {}
    return {str(k).lstrip("/"): str(_resolve(v)) for k, v in meta.items()}


def render_png(path: Path, out_dir: Path, dpi: int = 60) -> list[Path]:
    """Render every page to ``out_dir/page-N.png`` with poppler's pdftoppm; return them in page order.

    Low resolution by default: enough to look at a page or compare it, and quick.
    """
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        raise RuntimeError("pdftoppm not found: run `bash scripts/setup.sh` (installs poppler-utils)")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [pdftoppm, "-png", "-r", str(dpi), str(path), str(out_dir / "page")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"pdftoppm failed on {path} (exit {proc.returncode}): {proc.stderr.strip()}")
    # pdftoppm pads the page number to the width of the page count: page-1.png or page-01.png.
    pngs = [p for p in out_dir.glob("page-*.png") if p.stem.split("-")[-1].isdigit()]
    return sorted(pngs, key=lambda p: int(p.stem.split("-")[-1]))


def words_with_boxes(path: Path, page: int = 0) -> list[Word]:
    """Words of one page (0-based index) with their boxes, for layout checks such as margins."""
    with pdfplumber.open(str(path)) as pdf:
        p = pdf.pages[page]
        return [
            Word(
                text=w["text"],
                x0=float(w["x0"]),
                x1=float(w["x1"]),
                top=float(w["top"]),
                bottom=float(w["bottom"]),
                page_width=float(p.width),
                page_height=float(p.height),
            )
            for w in p.extract_words()
        ]
