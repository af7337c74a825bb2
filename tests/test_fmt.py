"""Formatting in en_US, de_DE and fr_FR, checked against strings written out by hand.

Escapes make Babel's spaces visible: NBSP (U+00A0) before units and currency, NNBSP (U+202F) as the
French thousands separator, and the minus sign (U+2212) HTML gets.
"""

import datetime as dt
import math

import pytest

from reportgen.render.fmt import (
    LABELS,
    format_change,
    format_date,
    format_delta,
    format_period,
    format_period_short,
    format_value,
    translate,
)

NBSP = "\u00a0"
NNBSP = "\u202f"
MINUS = "\u2212"

LOCALES = [("en_US", "USD"), ("de_DE", "EUR"), ("fr_FR", "EUR")]


@pytest.mark.parametrize(
    ("locale", "currency", "expected"),
    [
        ("en_US", "USD", "$1,234,567"),
        ("de_DE", "EUR", f"1.234.567{NBSP}€"),
        ("fr_FR", "EUR", f"1{NNBSP}234{NNBSP}567{NBSP}€"),
    ],
)
def test_money_uses_locale_separators_and_currency_position(locale, currency, expected):
    assert format_value(1234567.0, "money", locale=locale, currency=currency) == expected


def test_money_rounds_to_whole_units_but_keeps_cents_on_small_amounts():
    assert format_value(1234567.49, "money") == "$1,234,567"
    assert format_value(12.34, "money") == "$12.34"
    assert format_value(12.0, "money") == "$12"


@pytest.mark.parametrize(
    ("locale", "currency", "value", "expected"),
    [
        ("en_US", "USD", 1_236_000, "$1.24M"),
        ("de_DE", "EUR", 1_236_000, f"1,24{NBSP}Mio.{NBSP}€"),
        ("fr_FR", "EUR", 1_236_000, f"1,24{NBSP}M{NBSP}€"),
        ("en_US", "USD", 950_000, "$950,000"),  # below a million: printed in full
    ],
)
def test_compact_money_for_tiles(locale, currency, value, expected):
    assert format_value(value, "money", locale=locale, currency=currency, compact=True) == expected


def test_compact_count():
    assert format_value(2_345_678, "count", compact=True) == "2.35M"
    assert format_value(2_345_678, "count", locale="de_DE", compact=True) == f"2,35{NBSP}Mio."
    assert format_value(12_345, "count", locale="de_DE", compact=True) == "12.345"


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("en_US", "12.3%"), ("de_DE", f"12,3{NBSP}%"), ("fr_FR", f"12,3{NBSP}%")],
)
def test_percent_is_stored_as_a_fraction(locale, expected):
    assert format_value(0.1234, "percent", locale=locale) == expected


@pytest.mark.parametrize(
    ("unit", "locale", "value", "expected"),
    [
        ("count", "en_US", 1234, "1,234"),
        ("count", "fr_FR", 1234, f"1{NNBSP}234"),
        ("days", "en_US", 12.46, f"12.5{NBSP}days"),
        ("days", "en_US", 1.0, f"1.0{NBSP}days"),  # CLDR: "1.0" is plural in English
        ("days", "de_DE", 12.46, f"12,5{NBSP}Tage"),
        ("days", "fr_FR", 1.0, f"1,0{NBSP}jour"),  # ... and singular in French
        ("hours", "en_US", 3.25, f"3.2{NBSP}hr"),
        ("hours", "de_DE", 3.26, f"3,3{NBSP}Std."),
        ("hours", "fr_FR", 3.26, f"3,3{NNBSP}h"),
        ("score", "en_US", 42.0, "42"),
        ("score", "en_US", 42.34, "42.3"),
        ("score", "de_DE", -12.5, f"{MINUS}12,5"),
        ("ratio", "en_US", 3.21, "3.2x"),
        ("ratio", "de_DE", 3.21, "3,2x"),
    ],
)
def test_other_units(unit, locale, value, expected):
    assert format_value(value, unit, locale=locale, currency="EUR" if locale != "en_US" else "USD") == expected


@pytest.mark.parametrize("missing", [None, math.nan, math.inf, -math.inf])
@pytest.mark.parametrize(
    ("locale", "expected"), [("en_US", "n/a"), ("de_DE", f"k.{NBSP}A."), ("fr_FR", "n.d."), ("de_AT", f"k.{NBSP}A.")]
)
def test_missing_values_read_na_in_the_reader_language(missing, locale, expected):
    assert format_value(missing, "money", locale=locale) == expected
    assert format_delta(missing, "percent", locale=locale) == expected
    assert format_change(missing, locale=locale) == expected


def test_minus_sign_depends_on_context():
    assert format_value(-1234.0, "money") == f"{MINUS}$1,234"
    assert format_value(-1234.0, "money", context="text") == "-$1,234"
    assert format_value(-0.05, "percent", locale="de_DE", context="text") == f"-5,0{NBSP}%"
    assert "-" not in format_value(-0.05, "percent", locale="de_DE", context="html")


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("en_US", f"+2.1{NBSP}pp"), ("de_DE", f"+2,1{NBSP}Pp."), ("fr_FR", f"+2,1{NBSP}pts")],
)
def test_percent_delta_is_in_percentage_points(locale, expected):
    # 14.5 % against 12.4 %: 2.1 points, not a 2.1 % change
    assert format_delta(0.145 - 0.124, "percent", locale=locale) == expected


def test_delta_is_always_signed():
    assert format_delta(12300.0, "money") == "+$12,300"
    assert format_delta(-12300.0, "money") == f"{MINUS}$12,300"
    assert format_delta(-12300.0, "money", context="text") == "-$12,300"
    assert format_delta(-1.54, "days", locale="de_DE", currency="EUR") == f"{MINUS}1,5{NBSP}Tage"
    assert format_delta(-0.021, "percent", context="text") == f"-2.1{NBSP}pp"
    assert format_delta(0.0, "count") == "0"


def test_change_is_a_signed_relative_percent():
    assert format_change(0.124) == "+12.4%"
    assert format_change(-0.03, locale="de_DE") == f"{MINUS}3,0{NBSP}%"
    assert format_change(-0.03, locale="fr_FR", context="text") == f"-3,0{NBSP}%"


@pytest.mark.parametrize(
    ("label", "locale", "expected"),
    [
        ("2025-03", "en_US", "March 2025"),
        ("2025-03", "de_DE", "März 2025"),
        ("2025-03", "fr_FR", "mars 2025"),
        ("2025-Q1", "en_US", "Q1 2025"),
        ("2025-Q1", "fr_FR", "T1 2025"),
        ("2025", "de_DE", "2025"),
        ("2025-W07", "en_US", "Week 7, 2025"),
        ("2025-W07", "de_DE", "KW 7 2025"),
        ("FY2026-Q1", "en_US", "FY2026 Q1"),
        ("FY2026", "de_DE", "GJ 2026"),
        ("H1 2025", "en_US", "H1 2025"),  # unknown shapes pass through
    ],
)
def test_period_labels(label, locale, expected):
    assert format_period(label, locale=locale) == expected


@pytest.mark.parametrize(
    ("label", "locale", "expected"),
    [
        ("2025-03", "en_US", "Mar 25"),
        ("2025-03", "de_DE", "Mär 25"),
        ("2025-05", "fr_FR", "mai 25"),
        ("2025-Q4", "en_US", "Q4 25"),
        ("2025-W07", "de_DE", "KW7"),
        ("FY2026-Q2", "en_US", "FY26 Q2"),
    ],
)
def test_short_period_labels_for_axes(label, locale, expected):
    assert format_period_short(label, locale=locale) == expected


def test_medium_date():
    day = dt.date(2025, 3, 5)
    assert format_date(day, locale="en_US") == "Mar 5, 2025"
    assert format_date(day, locale="de_DE") == "05.03.2025"
    assert format_date(day, locale="fr_FR") == "5 mars 2025"


def test_translate_falls_back_from_region_to_language_to_english_to_key():
    assert translate("Prior year", "de_AT") == "Vorjahr"
    assert translate("Prior year", "de-CH") == "Vorjahr"
    assert translate("Prior year", "fr_FR") == "Année précédente"
    assert translate("Prior year", "sv_SE") == "Prior year"  # no Swedish: validate refuses sv_SE
    assert translate("Prior year", "es_ES") == "Año anterior"  # from the Spanish catalogue
    assert translate("No such label", "de_DE") == "No such label"


def test_every_label_has_a_german_and_french_translation():
    required = {
        "Actual", "Plan", "Target", "Prior period", "Prior year", "Forecast", "Benchmark",
        "Variance", "vs plan", "vs prior year", "Status", "good", "warning", "bad", "n/a", "Page",
        "of", "Contents", "Executive summary", "What changed", "Definitions", "Data quality",
        "Recommendations", "Source", "Generated", "Unavailable", "Rows read", "Rows rejected",
        "Date range", "Missing values", "Leaderboard", "Quota attainment", "Pipeline", "Funnel",
        "Breakdown", "Trend", "Rank", "Rep", "Region", "Product",
    }  # fmt: skip
    assert required <= set(LABELS["en"])
    assert set(LABELS["de"]) == set(LABELS["en"]) == set(LABELS["fr"])
    assert all(LABELS["de"][key] and LABELS["fr"][key] for key in LABELS["en"])


def test_unknown_unit_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown unit 'euros'"):
        format_value(1.0, "euros")  # type: ignore[arg-type]


# --- one number format per KPI (reportgen.render.kpiformat) -------------------------------------

from reportgen.render.kpiformat import WORD_JOINER, kpi_format  # noqa: E402


@pytest.mark.parametrize(
    ("locale", "currency", "value", "delta", "ytd", "label"),
    [
        ("en_US", "USD", "$1.46M", "+$0.30M", "$14.92M", "$M"),
        ("de_DE", "EUR", f"1,46{NBSP}Mio.{NBSP}€", f"+0,30{NBSP}Mio.{NBSP}€", f"14,92{NBSP}Mio.{NBSP}€",
         f"Mio.{NBSP}€"),
        ("fr_FR", "EUR", f"1,46{NBSP}M{NBSP}€", f"+0,30{NBSP}M{NBSP}€", f"14,92{NBSP}M{NBSP}€", f"M{NBSP}€"),
    ],
)
def test_one_scale_and_decimals_for_every_number_of_a_kpi(locale, currency, value, delta, ytd, label):
    """Chosen once from the KPI's values: the month, the variance and the year to date in one scale with
    the same decimals (issue 18: "$1.46M | +$296,575 | YTD $14.92M")."""
    f = kpi_format([1_461_000, 1_210_000, 14_920_000], "money", locale=locale, currency=currency)
    assert (f.value(1_461_000), f.delta(296_575), f.value(14_920_000), f.unit_label) == (value, delta, ytd, label)
    assert f.bare(1_461_000) == ("1.46" if locale == "en_US" else "1,46")  # the table's cell; the label by the name


def test_small_amounts_keep_one_format_too():
    """A Δ column of one KPI never holds "-$177" and "-$79.59": decimals are the KPI's, not the value's."""
    f = kpi_format([6796, 8300, 8291], "money")
    assert (f.value(6796), f.delta(-177), f.delta(-79.59)) == ("$6,796", f"{MINUS}$177", f"{MINUS}$80")
    cents = kpi_format([12.34, 15.0], "money")
    assert (cents.value(15), cents.delta(-2.5)) == ("$15.00", f"{MINUS}$2.50")


def test_german_thousands_are_printed_in_full():
    """CLDR's German has no abbreviation for thousands: 856.233 €, not a scale German readers lack."""
    f = kpi_format([856_233, 900_000, 435_000], "money", locale="de_DE", currency="EUR")
    assert f.value(856_233) == f"856.233{NBSP}€" and f.unit_label == "€"
    assert kpi_format([856_233], "money").value(856_233) == "$856K"


def test_sign_is_glued_to_its_number_for_plain_text():
    f = kpi_format([1_461_000], "money")
    assert f.delta(-89_357, "text", nobreak=True) == f"-{WORD_JOINER}$0.09M"
    assert f.change(-0.021, "text", nobreak=True) == f"-{WORD_JOINER}2.1%"


def test_variance_is_relative_only_where_defined():
    """Rates vary in percentage points, scores (NPS) in points; amounts and counts in percent."""
    assert kpi_format([0.57], "percent").variance(0.054, 0.10) == "+5.4\u00a0pp"
    assert kpi_format([51.4], "score").variance(25.3, 0.968) == "+25.3"
    assert kpi_format([93], "count").variance(25, 0.368) == "+36.8%"
