"""What moves together (issue 18): the correlation of KPI pairs (reportgen.engine.correlation) checked
against independent arithmetic on the metric CSV, its rules (minimum history, missing and partial
periods left out, trivial pairs and constant series dropped), and the section as the real PDFs of
configs/example.yaml show it: in the sales-manager and client reports, not in the executive one-pager,
without a heading when nothing qualifies, in German for a German scorecard."""
from __future__ import annotations

import io
import math
import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reportgen.config.load import load_config, parse_config
from reportgen.engine.correlation import co_movement, pair_of, strongest, trivially_related
from reportgen.engine.metrics import Metrics
from reportgen.engine.resolve import resolve_kpis
from reportgen.kpis.periods import parse_period, period_range
from reportgen.pipeline.build import build, compute_for_config
from reportgen.pipeline.exports import csv_text, metric_frame
from reportgen.render import render_audience
from tests.pdftools import pdf_text

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "configs" / "example.yaml"
NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
MONTHS = [f"2025-{m:02d}" for m in range(1, 13)]


@pytest.fixture(scope="module")
def loaded():
    return load_config(CONFIG)


@pytest.fixture(scope="module")
def metrics(loaded):
    return compute_for_config(loaded, now=NOW)


@pytest.fixture(scope="module")
def pdf_texts(loaded, metrics, tmp_path_factory):
    out = build(loaded, now=NOW, output_dir=tmp_path_factory.mktemp("corr"), exports=False, metrics=metrics)
    return {b.audience: pdf_text(b.pdf) for b in out}


def pdf_text_of(pdf: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)


def _flat(text: str) -> str:
    """PDF text with line breaks and hyphenation joins undone, for matching a sentence."""
    return " ".join(text.split())


def _csv_series(metrics: Metrics, kpi: str) -> pd.Series:
    """The KPI's whole-company monthly values as the user's metric CSV holds them (an independent
    reading: text written by the exporter, parsed back by pandas)."""
    frame = pd.read_csv(io.StringIO(csv_text(metric_frame(metrics, [kpi]))), keep_default_na=False,
                        na_values=[""])
    rows = frame[(frame["dimension"].isna()) & (frame["window"].isna()) & (frame["coverage"].isna())]
    return rows.set_index("period")["value"].astype(float)


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rho as the textbook defines it: Pearson's r of the average ranks."""
    return float(np.corrcoef(pd.Series(x).rank().to_numpy(), pd.Series(y).rank().to_numpy())[0, 1])


def _expected_r(a: pd.Series, b: pd.Series) -> float:
    return _spearman(np.diff(a.to_numpy()), np.diff(b.to_numpy()))


# --- the computation ------------------------------------------------------------------------------

def test_r_and_n_agree_with_numpy_over_the_metric_csv(metrics, loaded):
    ids = loaded.config.audiences["client"].kpis
    found = co_movement(metrics, ids, min_periods=12, top=3, min_r=0.6)
    assert found.pairs, "the sample data has strongly co-moving pairs"
    for pair in found.pairs:
        a, b = _csv_series(metrics, pair.first), _csv_series(metrics, pair.second)
        assert list(a.index) == list(b.index) == MONTHS
        assert pair.r == pytest.approx(_expected_r(a, b), abs=1e-9)
        assert (pair.periods, pair.changes) == (12, 11)
        agreeing = np.sign(np.diff(a.to_numpy())) * np.sign(np.diff(b.to_numpy()))
        assert pair.agreeing == int((agreeing > 0).sum() if pair.r > 0 else (agreeing < 0).sum())
        assert (pair.first_period, pair.last_period) == ("2025-01", "2025-12")
    # strongest first, and nothing below the threshold
    rs = [abs(p.r) for p in found.pairs]
    assert rs == sorted(rs, reverse=True) and min(rs) >= 0.6


def test_one_exceptional_month_does_not_make_a_correlation():
    """Eleven changes in which two KPIs disagree half the time, plus one month where both jump: Pearson's
    r of the changes is near 1 (the jump decides it); the rank correlation stays low."""
    dx = np.array([1.0, -2.0, 3.0, -1.0, 2.0, 40.0, -3.0, 1.5, -2.5, 2.2, -1.2])
    dy = np.array([-1.0, 2.0, -3.0, 1.0, -2.0, 40.0, 3.0, -1.5, 2.5, -2.2, 1.2])
    a = pd.Series(np.concatenate([[100.0], 100 + dx.cumsum()]), index=MONTHS)
    b = pd.Series(np.concatenate([[100.0], 100 + dy.cumsum()]), index=MONTHS)
    assert float(np.corrcoef(dx, dy)[0, 1]) > 0.9
    pair = pair_of("a", "b", a, b)
    assert pair is not None and pair.r == pytest.approx(_spearman(dx, dy), abs=1e-12) and pair.r < 0.6
    # no ties: the textbook formula 1 - 6 sum(d^2) / (n (n^2 - 1)) agrees
    d = pd.Series(dx).rank().to_numpy() - pd.Series(dy).rank().to_numpy()
    assert pair.r == pytest.approx(1 - 6 * float((d ** 2).sum()) / (11 * (11 ** 2 - 1)), abs=1e-12)
    assert strongest({"a": a, "b": b}, min_periods=12).pairs == ()


def test_every_sentence_of_the_section_is_a_translated_label():
    from reportgen.render import together
    from reportgen.render.labels import LABELS

    keys = [together.TOGETHER, together.OPPOSITE, together.TOO_SHORT, together.NONE_STRONG, together.NOT_CAUSE,
            together.METHOD, *together.CHANGES.values(), *together.PERIODS.values()]
    for language in ("de", "fr", "es", "it", "pt", "nl"):
        missing = [k for k in keys if k not in LABELS[language]]
        assert missing == [], language


def test_pairs_below_the_minimum_history_are_not_shown():
    rng = np.random.default_rng(7)
    a = pd.Series(rng.normal(size=12).cumsum(), index=MONTHS)
    b = a * 2 + pd.Series(rng.normal(scale=0.01, size=12), index=MONTHS)
    b.iloc[0] = np.nan  # 11 common periods
    assert strongest({"a": a, "b": b}, min_periods=12, min_r=0).pairs == ()
    assert strongest({"a": a, "b": b}, min_periods=12, min_r=0).longest == 11
    shown = strongest({"a": a, "b": b}, min_periods=11, min_r=0).pairs
    assert len(shown) == 1 and shown[0].periods == 11


def test_a_missing_period_is_left_out_not_read_as_zero():
    rng = np.random.default_rng(3)
    a = pd.Series(100 + rng.normal(size=12).cumsum(), index=MONTHS)
    b = pd.Series(50 + rng.normal(size=12).cumsum(), index=MONTHS)
    b.iloc[5] = np.nan
    pair = pair_of("a", "b", a, b)
    assert pair is not None and pair.periods == 11
    # changes only between consecutive counted months: none into or out of the gap
    keep = [t for t in range(1, 12) if t != 5 and t != 6]
    dx = np.array([a.iloc[t] - a.iloc[t - 1] for t in keep])
    dy = np.array([b.iloc[t] - b.iloc[t - 1] for t in keep])
    assert pair.changes == 9
    assert pair.r == pytest.approx(_spearman(dx, dy), abs=1e-12)
    zero_filled = pair_of("a", "b", a, b.fillna(0))
    assert zero_filled is not None and not math.isclose(zero_filled.r, pair.r, abs_tol=1e-3)


def _hand_metrics(values: dict[str, list[float]], coverage: dict[str, list[str]] | None = None) -> Metrics:
    """A metric table by hand: whole-company monthly rows of built-in KPIs."""
    rows = []
    for kpi, series in values.items():
        for t, (label, v) in enumerate(zip(MONTHS, series)):
            state = (coverage or {}).get(kpi, [""] * 12)[t]
            rows.append({"kpi": kpi, "period": label, "dimension": "", "window": "", "value": v, "coverage": state})
    periods = period_range(parse_period("2025-01"), parse_period("2025-12"))
    return Metrics(pd.DataFrame(rows), resolve_kpis(None), {}, periods, {}, "month")


def strongest_pair(m: Metrics, ids: list[str], min_periods: int):
    found = co_movement(m, ids, min_periods=min_periods, top=1, min_r=0)
    return found.pairs[0] if found.pairs else None


def test_a_partial_period_is_left_out(metrics):
    revenue = _csv_series(metrics, "revenue").to_list()
    calls = _csv_series(metrics, "calls_made").to_list()
    partial = _hand_metrics({"revenue": revenue, "calls_made": calls},
                            {"revenue": [""] * 11 + ["partial"]})
    full = _hand_metrics({"revenue": revenue, "calls_made": calls})
    cut = strongest_pair(partial, ["revenue", "calls_made"], min_periods=11)
    whole = strongest_pair(full, ["revenue", "calls_made"], min_periods=11)
    assert cut.periods == 11 and whole.periods == 12
    assert cut.last_period == "2025-11"
    assert cut.r == pytest.approx(_expected_r(pd.Series(revenue[:11]), pd.Series(calls[:11])), abs=1e-12)
    assert strongest_pair(partial, ["revenue", "calls_made"], min_periods=12) is None



def test_a_kpi_is_not_paired_with_one_computed_from_it(loaded, metrics):
    kpis = metrics.kpis
    # revenue_per_opportunity is the example config's `expression: revenue / opportunities_created`
    assert trivially_related("revenue_per_opportunity", "revenue", kpis)
    assert trivially_related("opportunities_created", "revenue_per_opportunity", kpis)
    assert trivially_related("average_deal_size", "revenue", kpis)       # revenue / deals_won
    assert trivially_related("revenue_growth", "revenue", kpis)          # revenue / prior(revenue) - 1
    assert trivially_related("win_rate", "deals_won", kpis)              # both count won deals
    assert not trivially_related("revenue", "calls_made", kpis)
    ids = ["revenue", "opportunities_created", "revenue_per_opportunity", "average_deal_size", "deals_won"]
    found = co_movement(metrics, ids, min_periods=12, top=10, min_r=0)
    shown = {frozenset((p.first, p.second)) for p in found.pairs}
    assert frozenset(("revenue", "revenue_per_opportunity")) not in shown
    assert frozenset(("revenue", "average_deal_size")) not in shown
    # and yet revenue and its own expression do move together: left in, the pair would qualify
    a, b = _csv_series(metrics, "revenue"), _csv_series(metrics, "revenue_per_opportunity")
    assert abs(_expected_r(a, b)) >= 0.6


def test_a_constant_series_is_not_compared():
    a = pd.Series(np.arange(12, dtype=float), index=MONTHS)
    flat = pd.Series(np.full(12, 5.0), index=MONTHS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # r of a constant is 0/0: dropped before numpy is asked
        found = strongest({"a": a, "flat": flat}, min_periods=3, min_r=0)
    assert found.pairs == () and found.compared == 0


# --- the section on the page ----------------------------------------------------------------------

def test_the_section_is_in_the_manager_and_client_pdfs_and_not_the_executive(pdf_texts, metrics, loaded):
    for audience in ("sales_manager", "client"):
        text = _flat(pdf_texts[audience])
        assert "What moves together" in text, audience
        assert "Correlation is not cause" in text, audience
        top = co_movement(metrics, loaded.config.audiences[audience].kpis).pairs[0]
        first, second = metrics.kpis[top.first].name, metrics.kpis[top.second].name
        verb = "rose and fell together" if top.r > 0 else "moved in opposite directions"
        assert f"{first} and {second} {verb} in {top.agreeing} of {top.changes} monthly changes." in text
        assert f"{abs(top.r):.2f}" in text
        assert "pair · jan 25 – dec 25" in text.lower()  # the window every pair shares, said once
    executive = _flat(pdf_texts["executive"])
    assert "What moves together" not in executive and "Correlation is not cause" not in executive


def _with_correlations(loaded, audience: str, setting: str):
    line = f"    template: {audience}\n"
    text = loaded.text.replace(line, f"{line}    correlations: {setting}\n", 1)
    assert setting in text
    return parse_config(text, loaded.path)


def test_no_heading_when_no_pair_has_the_history(loaded, metrics):
    short = _with_correlations(loaded, "client", "{min_periods: 24}")
    rendered = render_audience(metrics, short, "client", short.config.audiences["client"], now=NOW)
    assert 'id="moves-together"' not in rendered.html and "#moves-together" not in rendered.html
    assert "What moves together: not shown, fewer than 24 months of common history." in rendered.html
    text = _flat(pdf_text_of(rendered.pdf))
    assert "fewer than 24 months of common history" in text
    assert "Correlation is not cause" not in text


def test_no_heading_when_no_pair_is_strong_enough(loaded, metrics):
    strict = _with_correlations(loaded, "sales_manager", "{min_r: 0.99}")
    rendered = render_audience(metrics, strict, "sales_manager", strict.config.audiences["sales_manager"], now=NOW)
    assert 'id="moves-together"' not in rendered.html
    assert "no pair of KPIs with |r| of at least 0.99 among" in rendered.html


def test_top_zero_turns_the_section_off(loaded, metrics):
    off = _with_correlations(loaded, "client", "{top: 0}")
    rendered = render_audience(metrics, off, "client", off.config.audiences["client"], now=NOW)
    assert "What moves together" not in rendered.html


def test_a_german_scorecard_says_it_in_german(loaded, metrics):
    text = loaded.text.replace("  locale: en_US", "  locale: de_DE").replace("  currency: USD", "  currency: EUR")
    de = parse_config(text, loaded.path)
    rendered = render_audience(metrics, de, "sales_manager", de.config.audiences["sales_manager"], now=NOW)
    top = co_movement(metrics, loaded.config.audiences["sales_manager"].kpis).pairs[0]
    assert top.r > 0
    flat = _flat(pdf_text_of(rendered.pdf))
    assert "Was sich gemeinsam bewegt" in flat
    assert f"stiegen und fielen in {top.agreeing} von {top.changes} Monatsveränderungen gemeinsam." in flat
    assert "Korrelation ist keine Ursache" in flat
    assert f"{abs(top.r):.2f}".replace(".", ",") in flat  # the German decimal comma

