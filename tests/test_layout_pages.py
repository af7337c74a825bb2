"""Layout of the printed pages (issue 18), read back from the PDFs and from Chromium: the executive
table's relative variance pins on one scale, on one A4 page; the client report's cover as a band over
the first page; pages that end no earlier than half way (the last excepted); no heading last on its
page; no half-width orphan card; no empty column; nothing overflowing a 390 px phone."""
from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reportgen.charts import BAD_COLOR, GOOD_COLOR
from reportgen.config.load import load_config
from reportgen.pipeline.build import build, compute_for_config
from reportgen.render import Formats
from reportgen.render.scoreboard import PIN_SCALE_FLOOR, executive_table, pin_scale
from tests.fixtures.browser import inspect_html
from tests.pdftools import pdf_pages

REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
FOOTER_PT = 40.0       # the running footer's band at the foot of every page
HALF = 0.5             # a page before the last may not end above half its height


def _build(config: str, audience: str, out: Path):
    loaded = load_config(REPO / "configs" / f"{config}.yaml")
    [b] = build(loaded, now=NOW, audience=audience, output_dir=out, exports=False)
    return b


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("layout")


@pytest.fixture(scope="module")
def executive(out):
    return _build("example", "executive", out)


def _page_ends(pdf_path: Path) -> list[float]:
    """Where the last body text of each page sits, as a fraction of the page height (footer excluded)."""
    import pdfplumber

    with pdfplumber.open(str(pdf_path)) as pdf:
        return [max((c["bottom"] for c in p.chars if c["text"].strip() and c["bottom"] < p.height - FOOTER_PT),
                    default=0.0) / p.height for p in pdf.pages]


def _rgb(hex_colour: str) -> tuple[float, ...]:
    h = hex_colour.lstrip("#")
    return tuple(round(int(h[i:i + 2], 16) / 255, 3) for i in (0, 2, 4))


# --- the executive table's relative variance pins ------------------------------------------------


def test_pin_scale_is_set_by_the_changes_not_by_an_outlier():
    """+2,118 % beside changes of 5-20 % does not set the scale (it would shrink every other pin to
    its head); no change, or only tiny ones, keep the floor of 10 %."""
    assert pin_scale([0.05, -0.10, 0.20, 21.18]) == pytest.approx(0.20)
    assert pin_scale([0.05, -0.10, 0.20, 0.30]) == pytest.approx(0.30)
    assert pin_scale([]) == PIN_SCALE_FLOOR
    assert pin_scale([0.004, -0.002, float("nan")]) == PIN_SCALE_FLOOR


def test_executive_draws_relative_pins_on_one_scale_and_stays_one_page(executive):
    """Every plain % change of the period (ΔPL%, ΔPY%) has a pin, GOOD or BAD by the KPI's direction;
    none for a rate's pp, a partial base or a missing value; every pin on one scale (length / change is
    one number), the outlier (CLV to CAC +258 % against plan) cut with the overflow mark. Read back from
    the PDF: one A4 page, the pins' heads drawn, no text under 7 pt."""
    import pdfplumber

    loaded = load_config(REPO / "configs" / "example.yaml")
    metrics = compute_for_config(loaded, now=NOW)
    audience = loaded.config.audiences["executive"]
    table = executive_table(metrics, audience.kpis, loaded.config.objectives, Formats())
    cells = [(r, c) for r in table.rows for c in (r.vs_plan, r.vs_year_ago)]
    pinned = [(r, c) for r, c in cells if c.pin]
    assert len(pinned) >= 12
    for r, c in cells:
        if c.missing or c.partial or not r.format.relative:
            assert c.pin is None, (r.id, c)
        elif c.text:
            assert c.pin is not None, (r.id, c)
    # one scale: the pins that are not cut have length / |change| equal
    html = executive.html.read_text()
    svgs = re.findall(r'<svg[^>]*id="rg-pin-\d+".*?</svg>', html, flags=re.S)
    assert len(svgs) == len(pinned)
    ratios = []
    overflow = 0
    for svg in svgs:
        m = re.search(r'<line class="rg-pin [^"]*" x1="([\d.]+)" y1="[\d.]+" x2="([\d.]+)"', svg)
        assert m, svg
        change = re.search(r"([+−-][\d,.]+)%", re.search(r"<title[^>]*>(.*?)</title>", svg).group(1))
        value = float(change.group(1).replace("−", "-").replace(",", "")) / 100
        if "rg-overflow" in svg:
            overflow += 1
            continue
        ratios.append((abs(value), abs(float(m.group(2)) - float(m.group(1)))))
    assert overflow >= 1  # +258.2 % vs plan
    # length = change x one factor, to the rounding of the printed change (0.05 %) and the coordinates
    factor = max(length for _, length in ratios) / max(value for value, _ in ratios)
    assert all(abs(length - value * factor) < 0.15 for value, length in ratios), (factor, ratios)
    assert "CLV to CAC ratio: +258.2% vs plan" in "".join(s for s in svgs if "rg-overflow" in s)

    assert pdf_pages(executive.pdf) == 1
    with pdfplumber.open(str(executive.pdf)) as pdf:
        [page] = pdf.pages
        words = page.extract_words()
        ytd = min(w["x0"] for w in words if w["text"] == "YTD")
        first_pl = min(w["x0"] for w in words if w["text"] == "ΔPL%")
        heads = [c for c in page.curves if c.get("fill") and c["x1"] - c["x0"] < 4 and first_pl < c["x0"] < ytd
                 and tuple(round(v, 3) for v in c.get("non_stroking_color") or ()) in (_rgb(GOOD_COLOR),
                                                                                    _rgb(BAD_COLOR))]
        assert len(heads) == len(pinned), (len(heads), len(pinned))
        company = next(w["top"] for w in words if w["text"] == "NORTHWIND")  # below the logo (a drawing)
        small = [c["text"] for c in page.chars if c["size"] < 6.95 and c["top"] >= company]
        assert not small, "".join(small)


# --- page fill, cover and headings ---------------------------------------------------------------


@pytest.mark.parametrize(("config", "audience"), [("example", "client"), ("sales-data-sample", "client"),
                                                  ("example", "sales_manager"),
                                                  ("crm-sales-opportunities", "sales_manager"),
                                                  ("sales-data-sample", "sales_manager")])
def test_pages_fill_and_no_heading_ends_a_page(out, config, audience):
    """Every page but the last is filled at least half way, no heading (h2 at 11 pt, h3 at 9 pt) is the
    last text of its page (a heading keeps what it heads), and no text is under 7 pt (the cards' PY/PP
    keys were 6.4 pt, the benchmark source numbers 5.5 pt)."""
    import pdfplumber

    b = _build(config, audience, out / config)
    ends = _page_ends(b.pdf)
    assert all(e >= HALF for e in ends[:-1]), [round(e, 2) for e in ends]
    with pdfplumber.open(str(b.pdf)) as pdf:
        for number, page in enumerate(pdf.pages, 1):
            body = [c for c in page.chars if c["text"].strip() and page.height * 0.06 < c["top"]
                    and c["bottom"] < page.height - FOOTER_PT]
            last = max(c["bottom"] for c in body)
            line = [c for c in body if c["bottom"] > last - 3]
            assert max(c["size"] for c in line) < 8.9, (number, "".join(c["text"] for c in line))
            # no print text under 7 pt (the logo above the title on page 1 is the user's own drawing)
            title_top = max(page.chars, key=lambda c: c["size"])["top"] if number == 1 else 0.0
            small = [c["text"] for c in page.chars if c["size"] < 6.95 and c["top"] >= title_top]
            assert not small, (number, "".join(small))


def test_client_cover_shares_the_first_page(out):
    """The cover is a band: the first page carries the contents and the executive summary too (it was a
    page of its own, and the report five pages ending at 16-53 %)."""
    import pdfplumber

    b = _build("example", "client", out / "cover")
    with pdfplumber.open(str(b.pdf)) as pdf:
        first = pdf.pages[0].extract_text()
    assert "Sales Performance Review" in first
    assert "Executive summary" in first and "Sales revenue rose" in first, first[:500]


def test_an_odd_last_card_takes_the_whole_row(out):
    """The sales manager's five activity cards: the fifth spans the row (its comparison columns reach
    the right half of the page), not a half-width card beside an empty half."""
    import pdfplumber

    b = _build("example", "sales_manager", out / "cards")
    with pdfplumber.open(str(b.pdf)) as pdf:
        for page in pdf.pages:
            words = page.extract_words(extra_attrs=["size"])
            # the card's title (8.6 pt), not the overview table's row of the same name
            title = [w for w in words if w["text"] == "Average" and w["size"] > 8.3
                     and any(v["text"] == "response" and abs(v["top"] - w["top"]) < 2 for v in words)]
            if not title:
                continue
            top = title[0]["top"]
            card = [w for w in words if top - 1 < w["top"] < top + 45]
            assert any(w["x0"] > page.width * 0.6 for w in card), [w["text"] for w in card]
            break
        else:
            pytest.fail("no 'Average lead response time' card")


def test_an_overview_without_any_plan_has_no_plan_columns(out):
    """The CRM data has no plan: the sales manager's KPI overview shows no PL / Δ PL columns full of n/a
    and no empty status column; the example, which has plans, keeps them."""
    crm = _build("crm-sales-opportunities", "sales_manager", out / "crm-overview").html.read_text()
    example = _build("example", "sales_manager", out / "example-overview").html.read_text()

    def header(html: str) -> list[str]:
        thead = re.search(r'<table class="data overview">\s*<thead>(.*?)</thead>', html, flags=re.S).group(1)
        return [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<th[^>]*>(.*?)</th>", thead, flags=re.S)]

    assert "PL" not in header(crm) and "Δ PL" not in header(crm) and "Status" not in header(crm), header(crm)
    assert {"PL", "Δ PL", "Status"} <= set(header(example)), header(example)


# --- the phone ------------------------------------------------------------------------------------


REAL = [("crm-sales-opportunities", "executive"), ("crm-sales-opportunities", "sales_manager"),
        ("sales-data-sample", "executive"), ("sales-data-sample", "sales_manager"), ("sales-data-sample", "client"),
        ("superstore", "executive"), ("paid-media-funnel", "executive")]


@pytest.mark.parametrize(("config", "audience"), REAL)
def test_real_data_pages_fit_a_phone(out, chromium, config, audience):
    """Each real-data scorecard at 390 px in Chromium: nothing wider than the screen but the tables,
    which scroll inside their box (the KPI names pinned)."""
    b = _build(config, audience, out / f"phone-{config}")
    report = inspect_html(chromium, b.html, 390)
    assert report.clean, report.summary()


@pytest.mark.parametrize("locale", ["de_DE", "fr_FR", "ja_JP"])
def test_the_executive_table_is_one_page_in_every_language(tmp_path, locale):
    """Longer KPI names and sentences (French wraps "Durée moyenne du cycle de vente" to three lines)
    still leave the 15 KPIs, the notation line and the footnotes on one A4 page (in German and French
    the notes ran onto a second page)."""
    from reportgen.config.load import parse_config
    from reportgen.render import render_audience

    loaded = load_config(REPO / "configs" / "example.yaml")
    config = parse_config(loaded.text.replace("locale: en_US", f"locale: {locale}", 1), loaded.path)
    metrics = compute_for_config(config, now=NOW)
    rendered = render_audience(metrics, config, "executive", config.config.audiences["executive"], now=NOW)
    path = tmp_path / f"{locale}.pdf"
    path.write_bytes(rendered.pdf)
    assert pdf_pages(path) == 1
