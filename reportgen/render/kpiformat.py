"""One number format per KPI, chosen once from the KPI's values and used for every number of it.

Why: a page that prints ``$1.46M`` beside ``+$296,575`` and ``YTD $14.92M``, or a Δ column holding
``−$177`` and ``−$79.59``, makes the reader rescale in their head. IBCS asks for one scale and one
number of decimals per quantity. :func:`kpi_format` looks at the values a KPI shows (actual, plan, prior
year, to-date window) once, picks the scale (none, thousands, millions, billions, as the locale's CLDR
compact patterns name them: ``M``, ``Mio.``, ``万``) and the decimals (three significant digits on the
smallest value shown), and the :class:`KpiFormat` it returns formats the actual, the references, the
variances, the chart axes, the HTML and the e-mail alike.

A sign is never separated from its number: with ``nobreak=True`` a WORD JOINER (U+2060) follows the
sign, so a narrow mail client cannot break "−" / "$89,357" across lines (HTML cells use ``nowrap``).
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import cast

from babel.numbers import parse_pattern
from babel.units import format_unit

from reportgen.kpis.catalogue import Unit
from reportgen.render.fmt import (
    MINUS_SIGN,
    SMALL_MONEY,
    Context,
    _babel_locale,
    _format_decimal,
    _format_percent,
    _has_value,
    translate,
)
from reportgen.render.labels import MISSING_KEY, NBSP

WORD_JOINER = "\u2060"
"""Glues a sign to the number after it: no line break between them, and nothing visible."""

SCALE_FROM = 100_000
"""Amounts and counts are scaled (K, M, B) when the largest value shown reaches this; below it they are
printed in full ("8,432 calls", "$6,796")."""

SIGNIFICANT = 3
"""Digits kept on the smallest value shown: $1.46M beside $14.92M, not $1.5M."""

RELATIVE_UNITS: tuple[str, ...] = ("money", "count", "days", "hours", "ratio")
"""Units whose variance is also read as a relative change (+12.4%). A rate's change is in percentage
points and a score's (NPS, -100..100) in points: a "% change" of either is not defined."""


@dataclass(frozen=True)
class KpiFormat:
    """The number format of one KPI on one scorecard: scale, decimals, locale and currency."""

    unit: Unit
    locale: str = "en_US"
    currency: str = "USD"
    magnitude: int = 0      # the CLDR compact pattern's magnitude key (1000000 for "0M"); 0: unscaled
    divisor: int = 1        # what a value is divided by before it is printed with the pattern
    decimals: int = 0

    @property
    def relative(self) -> bool:
        """Whether a relative change (``+12.4%``) is defined for this KPI's unit (not for rates or scores)."""
        return self.unit in RELATIVE_UNITS

    def value(self, v: float | None, context: Context = "html") -> str:
        """A value (actual, plan, prior year, to-date, axis tick): ``$1.46M``, ``24.2d``, ``12.3%``."""
        if not _has_value(v):
            return translate(MISSING_KEY, self.locale)
        return _minus(self._number(float(v)), context)

    def delta(self, v: float | None, context: Context = "html", *, nobreak: bool = False) -> str:
        """An absolute variance in the same scale, its sign always shown: ``+$0.30M``, ``−1.8d``; a rate's
        in percentage points (``+2.1 pp``), a score's in points (``+25.3``)."""
        if not _has_value(v):
            return translate(MISSING_KEY, self.locale)
        v = float(v)
        if self.unit == "percent":
            magnitude = _format_decimal(abs(v) * 100, 1, self.locale) + NBSP + translate("pp", self.locale)
        else:
            magnitude = self._number(abs(v))
        return _sign(v, magnitude, context, nobreak, self.decimals if self.unit != "percent" else 1)

    def change(self, pct: float | None, context: Context = "html", *, nobreak: bool = False) -> str:
        """A relative change (a fraction, as the engine's ``pct_prior``) as a signed percent: ``+12.4%``."""
        if not _has_value(pct):
            return translate(MISSING_KEY, self.locale)
        pct = float(pct)
        return _sign(pct, _format_percent(abs(pct), self.locale), context, nobreak, 3)

    def variance(self, delta: float | None, pct: float | None, context: Context = "html", *,
                 nobreak: bool = False) -> str:
        """The relative change where one is defined, else the absolute variance (pp for rates, points for
        scores): what a "Δ%" column shows for this KPI."""
        if self.relative:
            return self.change(pct, context, nobreak=nobreak)
        return self.delta(delta, context, nobreak=nobreak)

    @property
    def unit_label(self) -> str:
        """The currency and scale a table row states once beside the KPI's name, when its cells are bare
        numbers (IBCS: "Sales revenue, $M"): ``$M``, ``Mio. €``, ``K``, ``days``; '' for units whose cells
        keep their sign (``%``, ``x``) or have none (an unscaled count, a score)."""
        locale = _babel_locale(self.locale)
        if self.unit in ("days", "hours"):
            return translate(self.unit, self.locale)
        if self.unit not in ("money", "count") or (self.unit == "count" and not self.magnitude):
            return ""
        if self.magnitude:
            table = locale.compact_currency_formats if self.unit == "money" else locale.compact_decimal_formats
            pattern = table["short"]["other"][str(self.magnitude)].pattern
        else:
            pattern = locale.currency_formats["standard"].pattern.split(";")[0]
        text = re.sub(r"[#0]+(?:[,.][#0]+)*", "", pattern).replace("'", "")
        text = text.replace("¤", locale.currency_symbols.get(self.currency, self.currency))
        return re.sub(r"\s+", NBSP, text.strip())

    def bare(self, v: float | None, context: Context = "html") -> str:
        """A value without the currency and scale of :attr:`unit_label` (``1.76`` for $1.76M); rates,
        ratios and scores as :meth:`value` (their sign is short and says what the number is)."""
        if not _has_value(v) or not self.unit_label:
            return self.value(v, context)
        return _minus(self._plain(float(v)), context)

    def bare_delta(self, v: float | None, context: Context = "html") -> str:
        """:meth:`delta` without the currency and scale of :attr:`unit_label`: ``+0.30``."""
        if not _has_value(v) or not self.unit_label:
            return self.delta(v, context)
        v = float(v)
        return _sign(v, self._plain(abs(v)), context, False, self.decimals)

    def _plain(self, v: float) -> str:
        if self.unit in ("days", "hours"):
            return _format_decimal(v, 1, self.locale)
        return _format_decimal(v / self.divisor, self.decimals, self.locale)

    def _number(self, v: float) -> str:
        locale = _babel_locale(self.locale)
        if self.unit == "percent":
            return _format_percent(v, self.locale)
        if self.unit in ("days", "hours"):
            rounded = Decimal(str(round(v, 1))).quantize(Decimal("0.1"))
            measure = "duration-day" if self.unit == "days" else "duration-hour"
            return format_unit(rounded, measure, length="narrow", format="#,##0.0", locale=locale).replace(" ", NBSP)
        if self.unit == "ratio":
            return _format_decimal(v, 1, self.locale) + "x"
        if self.unit == "score":
            return _format_decimal(v, 1, self.locale)
        digits = "0" * self.decimals
        number = "#,##0" + ("." + digits if digits else "")
        if self.magnitude:
            table = locale.compact_currency_formats if self.unit == "money" else locale.compact_decimal_formats
            pattern = re.sub("0+", number, table["short"]["other"][str(self.magnitude)].pattern, count=1)
            v = v / self.divisor
        elif self.unit == "money":
            pattern = re.sub(r"#,##0(\.0+)?", number, locale.currency_formats["standard"].pattern, count=1)
        else:
            pattern = number
        parsed = parse_pattern(pattern)
        parsed.frac_prec = (self.decimals, self.decimals)
        return cast(str, parsed.apply(v, locale, currency=self.currency, currency_digits=False))


def kpi_format(values: Iterable[float | None], unit: Unit, *, locale: str = "en_US",
               currency: str = "USD") -> KpiFormat:
    """The one format of a KPI whose shown values (actual, plan, prior year, to-date) are ``values``.

    Scale: from the largest value, the locale's compact pattern (thousands only where the locale has an
    abbreviation for them: German prints thousands in full). Decimals: three significant digits on the
    smallest non-zero value in that scale, at most two; whole units for unscaled amounts from
    ``SMALL_MONEY`` up (cents below, a cost per lead of $12.34)."""
    present = [abs(float(v)) for v in values if _has_value(v)]
    if unit not in ("money", "count") or not present:
        return KpiFormat(unit, locale, currency)
    largest = max(present)
    smallest = min((v for v in present if v > 0), default=largest)
    magnitude, divisor = _scale(largest, unit, locale) if largest >= SCALE_FROM else (0, 1)
    if magnitude:
        decimals = max(0, min(2, SIGNIFICANT - _int_digits(smallest / divisor)))
    elif unit == "money" and largest < SMALL_MONEY and any(v != int(v) for v in present):
        decimals = 2
    else:
        decimals = 0
    return KpiFormat(unit, locale, currency, magnitude, divisor, decimals)


def _scale(largest: float, unit: Unit, locale: str) -> tuple[int, int]:
    """The CLDR compact magnitude for ``largest`` and its divisor; (0, 1) where the locale prints it in full."""
    loc = _babel_locale(locale)
    table = (loc.compact_currency_formats if unit == "money" else loc.compact_decimal_formats)["short"]["other"]
    for magnitude in sorted((int(m) for m in table), reverse=True):
        if largest < magnitude:
            continue
        pattern = table[str(magnitude)].pattern
        if re.sub("[0¤\\s\u00a0]", "", pattern) == "":
            return 0, 1  # no abbreviation at this magnitude ("0" in German thousands)
        return magnitude, magnitude // (10 ** (pattern.count("0") - 1))
    return 0, 1


def _int_digits(v: float) -> int:
    return 1 if v < 1 else int(math.floor(math.log10(v))) + 1


def _sign(v: float, magnitude: str, context: Context, nobreak: bool, decimals: int) -> str:
    """``+`` or the minus before ``magnitude``; none when the value rounds to zero in the format shown."""
    if round(abs(v), decimals + 2) == 0 or set(re.sub(r"\D", "", magnitude)) <= {"0"}:
        return magnitude
    joiner = WORD_JOINER if nobreak else ""
    return ("+" if v > 0 else (MINUS_SIGN if context == "html" else "-")) + joiner + magnitude


def _minus(text: str, context: Context) -> str:
    return text.replace("-", MINUS_SIGN) if context == "html" else text.replace(MINUS_SIGN, "-")
