"""Make the Japanese fallback fonts in reportgen/assets/fonts from Noto Sans CJK JP (SIL OFL 1.1).

Why a subset: the full Noto Sans CJK face is 16-20 MB per weight (the Debian package fonts-noto-cjk is a
56 MB download, 91 MB installed); the scorecard needs Japanese UI text, the sentences of the ja catalogue
and the CLDR date/number words, plus whatever names a reader's data holds. The subset keeps:
JIS X 0208 rows 1-8 (punctuation, symbols, full-width Latin, kana, Greek, Cyrillic, box drawing), the
2,965 level-1 kanji (rows 16-47), the CJK Symbols and Punctuation, Hiragana and Katakana blocks, the
Halfwidth and Fullwidth Forms block, ASCII and Latin-1, and every character of every shipped catalogue.
fontTools' default layout features are kept (those a renderer applies unasked: kerning, locl, vertical
forms, proportional alternates); the opt-in ones (jp78, hwid, ...) are dropped, 10% of the size. Hinting
is dropped (the CFF hints matter only on screens at small sizes).

Run it again after a catalogue gains a character outside that set (tests/test_locale_ja.py fails then):

    apt-get download fonts-noto-cjk && dpkg-deb -x fonts-noto-cjk_*.deb noto
    python scripts/subset_cjk_font.py noto/usr/share/fonts/opentype/noto

It takes about a minute per weight. Output: NotoSansCJKjp-Regular.subset.otf (matplotlib and Pillow need
OTF: their FreeType cannot read WOFF2; WeasyPrint and browsers read it too) and
NotoSansCJKjp-Bold.subset.woff2 (only the PDF and HTML use a bold face).
"""
from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

ROOT = Path(__file__).resolve().parent.parent
FONTS = ROOT / "reportgen" / "assets" / "fonts"
LOCALES = ROOT / "reportgen" / "render" / "locales"
JAPANESE_IN_TTC = 0  # NotoSansCJK-*.ttc: 0 is "Noto Sans CJK JP"
BLOCKS = ((0x20, 0x7E), (0xA0, 0xFF), (0x3000, 0x30FF), (0xFF00, 0xFFEF))
"""ASCII and Latin-1 (so a label mixing kana and digits is drawn in one font where there is no
per-glyph fallback: Pillow), CJK punctuation and kana, half- and full-width forms."""


def jis_x_0208(rows: range) -> set[str]:
    """The characters of JIS X 0208 rows ``rows`` (EUC-JP: row r, cell c is bytes 0xA0+r, 0xA0+c)."""
    chars: set[str] = set()
    for row in rows:
        for cell in range(1, 95):
            try:
                chars.add(bytes((0xA0 + row, 0xA0 + cell)).decode("euc_jp"))
            except UnicodeDecodeError:
                pass  # an unassigned cell
    return chars


def catalogue_characters() -> set[str]:
    """Every character of the shipped .po files (translators may use any; the fonts must have them)."""
    return {ch for po in LOCALES.glob("*/LC_MESSAGES/*.po") for ch in po.read_text(encoding="utf-8") if ord(ch) > 0x7F}


def wanted() -> set[int]:
    chars = jis_x_0208(range(1, 9)) | jis_x_0208(range(16, 48)) | catalogue_characters()
    chars |= {chr(cp) for first, last in BLOCKS for cp in range(first, last + 1)}
    return {ord(ch) for ch in chars}


def make(source: Path, target: Path, flavor: str | None) -> None:
    font = TTFont(source, fontNumber=JAPANESE_IN_TTC)
    options = subset.Options()
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.hinting = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(wanted()))
    subsetter.subset(font)
    font.flavor = flavor
    font.save(target)
    print(f"{target.name}: {target.stat().st_size:,} bytes")


def main(noto_dir: str) -> None:
    source = Path(noto_dir)
    make(source / "NotoSansCJK-Regular.ttc", FONTS / "NotoSansCJKjp-Regular.subset.otf", None)
    make(source / "NotoSansCJK-Bold.ttc", FONTS / "NotoSansCJKjp-Bold.subset.woff2", "woff2")


if __name__ == "__main__":
    main(sys.argv[1])
