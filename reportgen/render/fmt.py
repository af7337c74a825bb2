"""Locale-aware formatting of KPI values, deltas, periods and UI labels, on Babel.

Every number an executive reads goes through here, so one scorecard reads the same in the PDF, the
HTML and the plain-text email, and a German reader gets German separators, currency placement and
words. Babel supplies the locale data (CLDR), including its non-breaking spaces, which keep a value
and its unit on one line. Like great-tables' formatters, each function takes a ``context``: HTML gets
a real minus sign (U+2212, as wide as the plus sign, so signed columns line up), plain text gets an
ASCII hyphen because some mail clients and terminals lack U+2212.

A missing value (None, NaN or infinity) is shown as "n/a" in the reader's language: the KPI
contract says a ratio with a zero denominator is missing, never 0 and never inf.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Literal, TypeGuard, cast

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import format_skeleton
from babel.numbers import (
    NumberPattern,
    format_compact_currency,
    format_compact_decimal,
    get_currency_precision,
    parse_pattern,
)
from babel.units import format_unit

from reportgen.kpis.catalogue import UNITS, Unit
from reportgen.render.labels import LABELS, MISSING_KEY, NBSP

if TYPE_CHECKING:
    from reportgen.engine import Reason

Context = Literal["html", "text"]

MINUS_SIGN = "\u2212"
"""Typographic minus for HTML and PDF."""

COMPACT_FROM = 1_000_000
"""Compact tiles abbreviate from a million up. Thousands are short enough in full, and CLDR's
German has no thousands abbreviation (Babel prints ``12345 €`` without grouping)."""

SMALL_MONEY = 100
"""Below this, money keeps its cents: a cost per lead of $12.34 would lose meaning as $12."""



_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_FISCAL_QUARTER = re.compile(r"^FY(\d{4})-Q([1-4])$")
_FISCAL_YEAR = re.compile(r"^FY(\d{4})$")


def translate(key: str, locale: str) -> str:
    """The UI label ``key`` in ``locale``'s language.

    Falls back from region to language (de_AT -> de) to English, and finally to the key itself, so a
    label nobody translated yet shows up in English instead of breaking a report.
    """
    for language in (_language(locale), "en"):
        label = LABELS.get(language, {}).get(key)
        if label is not None:
            return label
    return key


def format_value(
    value: float | None,
    unit: Unit,
    *,
    locale: str = "en_US",
    currency: str = "USD",
    context: Context = "html",
    compact: bool = False,
) -> str:
    """A KPI value as the reader expects it: ``$1,234,567``, ``12,3 %``, ``4.5 days``.

    ``compact`` is for tiles, where a million-scale amount must fit: ``$1.24M``. Percent values are
    fractions (0.1234 is 12.3 %), as the KPI contract computes them.
    """
    if not _has_value(value):
        return translate(MISSING_KEY, locale)
    return _with_minus(_format_number(float(value), unit, locale, currency, compact), context)


def format_delta(
    delta: float | None,
    unit: Unit,
    *,
    locale: str = "en_US",
    currency: str = "USD",
    context: Context = "html",
) -> str:
    """An absolute difference with its sign always shown: ``+$12,300``, ``−1.5 days``.

    The difference of two percentages is in percentage points (``+2.1 pp``), never in percent: 12 %
    against 10 % is +2 pp, which a "+2 %" would misstate as a relative change.
    """
    if not _has_value(delta):
        return translate(MISSING_KEY, locale)
    delta = float(delta)
    if unit == "percent":
        magnitude = _format_decimal(abs(delta) * 100, 1, locale) + NBSP + translate("pp", locale)
    else:
        magnitude = _format_number(abs(delta), unit, locale, currency, compact=False)
    return _signed(delta, magnitude, context)


def format_change(pct: float | None, *, locale: str = "en_US", context: Context = "html") -> str:
    """A relative change (a fraction, 0.124) as a signed percent: ``+12.4%``, ``−3,0 %``."""
    if not _has_value(pct):
        return translate(MISSING_KEY, locale)
    pct = float(pct)
    return _signed(pct, _format_percent(abs(pct), locale), context)


def format_period(label: str, *, locale: str = "en_US") -> str:
    """A period label from the data (``2025-03``, ``2025-Q1``, ``2025-W07``, ``FY2026-Q1``) for titles.

    Month and quarter names come from CLDR (``März 2025``, ``T1 2025``); an unrecognised label is
    returned unchanged, because showing the user's own label beats failing the report.
    """
    if match := _MONTH.match(label):
        return format_skeleton("yMMMM", _month_start(match), locale=_babel_locale(locale))
    if match := _QUARTER.match(label):
        return f"{_quarter_name(match, locale)} {match[1]}"
    if _YEAR.match(label):
        return label
    if match := _WEEK.match(label):
        return translate("Week {week}, {year}", locale).format(week=int(match[2]), year=match[1])
    if match := _FISCAL_QUARTER.match(label):
        return f"{translate('FY{year}', locale).format(year=match[1])} {_quarter_name(match, locale)}"
    if match := _FISCAL_YEAR.match(label):
        return translate("FY{year}", locale).format(year=match[1])
    return label


def format_period_short(label: str, *, locale: str = "en_US") -> str:
    """A period label short enough for a chart axis: ``Mar 25``, ``Q1 25``, ``KW7``."""
    if match := _MONTH.match(label):
        pattern = _SHORT_MONTH.get(_language(locale), "LLL yy")
        return babel_format_date(_month_start(match), pattern, locale=_babel_locale(locale))
    if match := _QUARTER.match(label):
        return f"{_quarter_name(match, locale)} {match[1][2:]}"
    if match := _WEEK.match(label):
        return translate("W{week}", locale).format(week=int(match[2]))
    if match := _FISCAL_QUARTER.match(label):
        return f"{translate('FY{yy}', locale).format(yy=match[1][2:])} {_quarter_name(match, locale)}"
    if match := _FISCAL_YEAR.match(label):
        return translate("FY{yy}", locale).format(yy=match[1][2:])
    return label


_SHORT_MONTH = {"ja": "yy年M月"}
"""Short month patterns where CLDR's "LLL yy" misleads: Japanese "12月 25" reads as 25 December."""


def format_date(d: dt.date, *, locale: str = "en_US") -> str:
    """A date in the locale's medium form: ``Mar 5, 2025``, ``05.03.2025``, ``5 mars 2025``."""
    return babel_format_date(d, "medium", locale=_babel_locale(locale))


def format_day_month(d: dt.date, *, locale: str = "en_US") -> str:
    """A day of the year without the year, for "data through Dec 20": ``Dec 20``, ``20. Dez.``, ``20 déc.``."""
    return format_skeleton("MMMd", d, locale=_babel_locale(locale))


def coverage_note_parts(note: str) -> list[tuple[str, str, dt.date | None]]:
    """The engine's coverage note ("deals end 2025-12-20; leads begin 2024-03-01") as
    (dataset, "begin" | "end" | "none", date) triples, read with the engine's own reader of its notes
    (``reasons_of``): "none" for a dataset without dated rows or without the placing column."""
    from reportgen.engine import reasons_of

    return [(r.dataset, r.kind if r.kind in ("begin", "end") else "none", r.day) for r in reasons_of(note)]


def reason_text(reason: Reason, *, locale: str = "en_US") -> str:
    """One typed coverage reason in the reader's words: "deals end Dec 31, 2025", "deals: Daten bis 31.12.2025"."""
    if reason.kind in ("begin", "end") and reason.day is not None:
        return translate(f"{{dataset}} {reason.kind} {{date}}", locale).format(
            dataset=reason.dataset, date=format_date(reason.day, locale=locale))
    if reason.kind == "no_dates":
        return translate("{dataset} has no dated rows", locale).format(dataset=reason.dataset)
    return translate("{dataset} has no {column}", locale).format(dataset=reason.dataset, column=reason.column)


def format_coverage_note(note: str, *, locale: str = "en_US") -> str:
    """The engine's coverage note for a reader, each typed reason translated (:func:`reason_text`).

    A part that is not one of the engine's reasons passes through unchanged (its English beats no reason)."""
    from reportgen.engine import reasons_of

    out = []
    for part in (note or "").split("; "):
        part = part.strip()
        if part:
            reasons = reasons_of(part)
            out.append(reason_text(reasons[0], locale=locale) if reasons else part)
    return "; ".join(out)


def _format_number(value: float, unit: Unit, locale: str, currency: str, compact: bool) -> str:
    if unit == "money":
        return _format_money(value, locale, currency, compact)
    if unit == "count":
        return _format_count(value, locale, compact)
    if unit == "percent":
        return _format_percent(value, locale)
    if unit == "days":
        return _format_duration(value, "duration-day", "long", locale)
    if unit == "hours":
        return _format_duration(value, "duration-hour", "short", locale)
    if unit == "score":
        return _format_decimal(value, 1, locale, drop_zero_fraction=True)
    if unit == "ratio":
        return _format_decimal(value, 1, locale) + "x"
    raise ValueError(f"unknown unit {unit!r}; expected one of {', '.join(UNITS)}")


def _format_money(value: float, locale: str, currency: str, compact: bool) -> str:
    babel_locale = _babel_locale(locale)
    if compact and abs(value) >= COMPACT_FROM:
        return format_compact_currency(value, currency, locale=babel_locale, fraction_digits=2)
    # cents below SMALL_MONEY, but never more decimals than the currency has (yen: none)
    digits = min(2, get_currency_precision(currency)) if abs(value) < SMALL_MONEY and value != int(value) else 0
    pattern = _with_fraction_digits(babel_locale.currency_formats["standard"], digits)
    # NumberPattern.apply has no return annotation in babel, though it always returns the formatted str.
    return cast(str, pattern.apply(value, babel_locale, currency=currency, currency_digits=False))


def _format_count(value: float, locale: str, compact: bool) -> str:
    babel_locale = _babel_locale(locale)
    if compact and abs(value) >= COMPACT_FROM:
        return format_compact_decimal(value, locale=babel_locale, fraction_digits=2)
    return _format_decimal(value, 0, locale)


def _format_percent(fraction: float, locale: str) -> str:
    babel_locale = _babel_locale(locale)
    pattern = _with_fraction_digits(babel_locale.percent_formats[None], 1)
    return cast(str, pattern.apply(fraction, babel_locale))  # unannotated in babel, returns str


def _format_duration(value: float, measurement: str, length: Literal["short", "long", "narrow"], locale: str) -> str:
    # A Decimal with one visible fraction digit makes CLDR's plural rules see "1.0" (English:
    # "1.0 days") rather than the integer 1 ("1.0 day").
    # CLDR's German and English unit patterns use a plain space; make it non-breaking like the rest.
    rounded = Decimal(str(round(value, 1))).quantize(Decimal("0.1"))
    text = format_unit(rounded, measurement, length=length, format="#,##0.0", locale=_babel_locale(locale))
    return text.replace(" ", NBSP)


def _format_decimal(value: float, digits: int, locale: str, *, drop_zero_fraction: bool = False) -> str:
    babel_locale = _babel_locale(locale)
    fraction = "#" * digits if drop_zero_fraction else "0" * digits
    pattern = parse_pattern("#,##0" + ("." + fraction if digits else ""))
    return cast(str, pattern.apply(value, babel_locale))  # unannotated in babel, returns str


def _with_fraction_digits(pattern: NumberPattern, digits: int) -> NumberPattern:
    """A copy of a locale's pattern with a fixed number of decimals, keeping its spacing and symbol
    placement (``#,##0 %`` in German), which a hand-written pattern would lose."""
    copy = parse_pattern(pattern.pattern)
    copy.frac_prec = (digits, digits)
    return copy


def _signed(value: float, magnitude: str, context: Context) -> str:
    if value > 0:
        return "+" + magnitude
    if value < 0:
        return _with_minus("-" + magnitude, context)
    return magnitude


def _with_minus(text: str, context: Context) -> str:
    if context == "html":
        return text.replace("-", MINUS_SIGN)
    return text.replace(MINUS_SIGN, "-")


def _is_missing(value: float | None) -> bool:
    return value is None or not math.isfinite(float(value))


def _has_value(value: float | None) -> TypeGuard[float]:
    """The opposite of :func:`_is_missing`, telling the type checker the value is a number."""
    return not _is_missing(value)


def _month_start(match: re.Match[str]) -> dt.date:
    return dt.date(int(match[1]), int(match[2]), 1)


def _quarter_name(match: re.Match[str], locale: str) -> str:
    first_month = 3 * int(match[2]) - 2
    return babel_format_date(dt.date(2000, first_month, 1), "QQQ", locale=_babel_locale(locale))


def _language(locale: str) -> str:
    return re.split(r"[_-]", locale, maxsplit=1)[0].lower()


@lru_cache(maxsize=32)
def _babel_locale(locale: str) -> Locale:
    return Locale.parse(locale.replace("-", "_"))
