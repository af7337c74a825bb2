"""Deterministic sample CRM for reportgen: the ten canonical datasets of ``kpi-spec.md`` as CSV.

The sample is what a new user sees first and what the demo scorecards are built on, so it has to look
like a real B2B sales operation (seasonality, growth, a lead funnel, reps who differ, products with
different prices and cycles) and it has to be reproducible: the same seed gives byte-identical files,
and ``tests/test_samples.py`` regenerates the committed sample to prove it never drifts.

Run ``python -m samples.generate --out samples/data`` from the repository root.

Every random draw comes from one ``numpy.random.Generator`` per dataset, spawned from the seed, so a
change to how (say) tickets are drawn does not reshuffle the deals.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

DATASET_COLUMNS: dict[str, tuple[str, ...]] = {
    "deals": ("deal_id", "created_date", "close_date", "stage", "amount", "rep", "region",
              "product", "source", "customer_id", "quote_date", "profit"),
    "leads": ("lead_id", "created_date", "source", "rep", "first_contact_at", "converted_date"),
    "activities": ("activity_id", "date", "type", "rep", "lead_id", "deal_id"),
    "subscriptions": ("customer_id", "start_date", "end_date", "mrr"),
    "spend": ("date", "category", "amount", "channel"),
    "targets": ("period", "kpi", "value", "scope"),
    "surveys": ("response_date", "type", "score", "customer_id"),
    "tickets": ("ticket_id", "created_date", "customer_id"),
    "timesheets": ("date", "rep", "selling_hours", "total_hours"),
    "forecasts": ("period", "forecast"),
}
"""Canonical column names per dataset, in the order they are written (kpi-spec.md)."""

REGIONS: tuple[str, ...] = ("North", "South", "East", "West")
REGION_LEAD_SHARE = np.array([0.30, 0.20, 0.28, 0.22])


@dataclass(frozen=True)
class Rep:
    """A sales rep. ``skill`` scales win rate, deal size and response speed, so leaderboards spread."""

    name: str
    region: str
    skill: float


REPS: tuple[Rep, ...] = (
    Rep("Ava Chen", "North", 1.35),
    Rep("Liam Novak", "North", 0.95),
    Rep("Sofia Rossi", "North", 0.80),
    Rep("Noah Patel", "South", 1.20),
    Rep("Mia Johansson", "South", 0.90),
    Rep("Ethan Okafor", "South", 0.75),
    Rep("Amara Singh", "East", 1.15),
    Rep("Lucas Meyer", "East", 1.00),
    Rep("Hannah Kim", "East", 0.70),
    Rep("Oliver Brooks", "West", 1.10),
    Rep("Chloe Dubois", "West", 1.05),
    Rep("Mateo Alvarez", "West", 0.85),
)


@dataclass(frozen=True)
class Product:
    """A product line: list price, margin, typical cycle and churn differ by tier."""

    name: str
    price: float
    margin: float
    cycle_median_days: float
    win_rate: float
    mrr: float
    monthly_churn: float


PRODUCTS: tuple[Product, ...] = (
    Product("Core", 8_000.0, 0.62, 12.0, 0.46, 450.0, 0.030),
    Product("Pro", 24_000.0, 0.50, 32.0, 0.37, 1_300.0, 0.020),
    Product("Enterprise", 85_000.0, 0.38, 65.0, 0.27, 4_200.0, 0.010),
)

SOURCES: tuple[str, ...] = ("web", "referral", "events", "ads", "partner")
SOURCE_LEAD_SHARE = np.array([0.34, 0.12, 0.16, 0.28, 0.10])
SOURCE_CONVERSION = np.array([0.17, 0.36, 0.22, 0.12, 0.30])
SOURCE_WIN_FACTOR = np.array([1.00, 1.25, 0.95, 0.85, 1.10])

SEASON = np.array([0.92, 0.95, 1.05, 1.00, 1.00, 0.92, 0.80, 0.78, 1.02, 1.12, 1.20, 1.15])
"""Volume multiplier per calendar month: strong Q4, summer dip."""
CLOSE_SEASON = np.array([0.95, 1.0, 1.05, 1.0, 1.0, 1.0, 0.92, 0.90, 1.0, 1.05, 1.10, 1.12])
"""Win-probability multiplier by close month: year-end budgets close deals, holidays stall them."""
GROWTH_PER_YEAR = 0.12
LEADS_PER_MONTH = 480.0
REPEAT_DEAL_SHARE = 0.18
ACTIVITY_TYPES: tuple[str, ...] = ("call", "email", "meeting", "follow_up")


@dataclass(frozen=True)
class Calendar:
    """The whole months the sample covers; KPIs are monthly, so partial months are not allowed."""

    month_starts: np.ndarray  # datetime64[D], one per month plus the day after the last month

    @property
    def start(self) -> np.datetime64:
        return self.month_starts[0]

    @property
    def end(self) -> np.datetime64:
        """Last day covered (inclusive): the day the CRM was exported."""
        return self.month_starts[-1] - np.timedelta64(1, "D")

    @property
    def months(self) -> int:
        return len(self.month_starts) - 1

    def days_in_month(self) -> np.ndarray:
        return np.diff(self.month_starts).astype(int)

    def month_index(self, dates: np.ndarray) -> np.ndarray:
        """Offset of each date's month from the first month (NaT gives a meaningless value)."""
        months = dates.astype("datetime64[M]") - self.start.astype("datetime64[M]")
        return months.astype(int)

    def period_labels(self) -> list[str]:
        return [str(m) for m in self.month_starts[:-1].astype("datetime64[M]")]


def make_calendar(start: str, months: int) -> Calendar:
    """Build the calendar; ``start`` must be the first of a month so every period is whole."""
    first = np.datetime64(start, "D")
    if first.astype("datetime64[M]").astype("datetime64[D]") != first:
        raise ValueError(f"start must be the first day of a month, got {start!r}")
    if months < 1:
        raise ValueError(f"months must be at least 1, got {months!r}")
    month_starts = (first.astype("datetime64[M]") + np.arange(months + 1)).astype("datetime64[D]")
    return Calendar(month_starts)


def volume_profile(cal: Calendar) -> np.ndarray:
    """Relative business volume per month: seasonality times mild year-over-year growth."""
    calendar_month = cal.month_starts[:-1].astype("datetime64[M]").astype(int) % 12
    elapsed_years = np.arange(cal.months) / 12.0
    return SEASON[calendar_month] * (1.0 + GROWTH_PER_YEAR) ** elapsed_years


def draw_days_in_months(rng: np.random.Generator, month_idx: np.ndarray, cal: Calendar) -> np.ndarray:
    """A uniformly random day inside each given month."""
    offsets = np.floor(rng.random(len(month_idx)) * cal.days_in_month()[month_idx]).astype(int)
    return cal.month_starts[month_idx] + offsets.astype("timedelta64[D]")


def draw_dates(rng: np.random.Generator, n: int, cal: Calendar) -> np.ndarray:
    """``n`` dates spread over the calendar following the volume profile."""
    weights = volume_profile(cal) * cal.days_in_month()
    month_idx = rng.choice(cal.months, size=n, p=weights / weights.sum())
    return draw_days_in_months(rng, month_idx, cal)


def _monthly_counts(rng: np.random.Generator, per_month: float, cal: Calendar) -> np.ndarray:
    return rng.poisson(per_month * volume_profile(cal))


def _clip_to_calendar(dates: np.ndarray, cal: Calendar) -> np.ndarray:
    """Dates after the export day have not happened yet: they become NaT."""
    return np.where(dates <= cal.end, dates, np.datetime64("NaT"))


# --------------------------------------------------------------------------------------------------
# Deals: the outcome model shared with bench/make_bench_data.py


def draw_deal_outcomes(
    rng: np.random.Generator,
    created: np.ndarray,
    rep_idx: np.ndarray,
    source_idx: np.ndarray,
    repeat: np.ndarray,
    cal: Calendar,
) -> pd.DataFrame:
    """Product, amount, cycle, stage, close/quote dates and profit for deals created on ``created``.

    A deal whose close would fall after the export day is still ``open`` (no close_date). Lost deals
    die faster than won deals close; profit exists only for won deals.
    """
    n = len(created)
    skill = np.array([r.skill for r in REPS])[rep_idx]
    product = _draw_products(rng, skill, repeat)
    median_cycle = np.array([p.cycle_median_days for p in PRODUCTS])[product]
    cycle = np.clip(np.rint(median_cycle * rng.lognormal(0.0, 0.55, n)), 2, 120).astype(int)
    expected_close = created + cycle.astype("timedelta64[D]")

    close_month = expected_close.astype("datetime64[M]").astype(int) % 12
    win_p = (np.array([p.win_rate for p in PRODUCTS])[product] * skill**1.1
             * SOURCE_WIN_FACTOR[source_idx] * np.where(repeat, 1.5, 1.0) * CLOSE_SEASON[close_month])
    won = rng.random(n) < np.clip(win_p, 0.03, 0.9)
    cycle = np.where(won, cycle, np.maximum(2, np.rint(cycle * 0.75)).astype(int))
    close = created + cycle.astype("timedelta64[D]")
    is_open = close > cal.end
    stage = np.where(is_open, "open", np.where(won, "won", "lost"))

    years = (created - cal.start).astype(int) / 365.25
    amount = np.round(np.array([p.price for p in PRODUCTS])[product] * rng.lognormal(0.0, 0.4, n)
                      * skill**0.4 * np.where(repeat, 0.6, 1.0) * 1.03**years, 2)
    margin = np.clip(np.array([p.margin for p in PRODUCTS])[product] + rng.normal(0.0, 0.06, n), 0.05, 0.9)
    profit = np.where(stage == "won", np.round(amount * margin, 2), np.nan)

    quote_share = np.select([stage == "won", stage == "lost"], [0.95, 0.75], 0.6)
    quote = created + np.floor(rng.uniform(0.2, 0.9, n) * cycle).astype("timedelta64[D]")
    quote = np.where(rng.random(n) < quote_share, _clip_to_calendar(quote, cal), np.datetime64("NaT"))

    return pd.DataFrame({
        "created_date": created,
        "close_date": np.where(is_open, np.datetime64("NaT"), close),
        "stage": stage,
        "amount": amount,
        "rep_idx": rep_idx,
        "product_idx": product,
        "source_idx": source_idx,
        "quote_date": quote,
        "profit": profit,
        "repeat": repeat,
    })


def _draw_products(rng: np.random.Generator, skill: np.ndarray, repeat: np.ndarray) -> np.ndarray:
    """Better reps land bigger tiers; repeat customers upgrade more often."""
    p_enterprise = np.clip(0.12 * skill + np.where(repeat, 0.08, 0.0), 0.0, 0.5)
    p_pro = 0.33 + np.where(repeat, 0.07, 0.0)
    u = rng.random(len(skill))
    return np.where(u < p_enterprise, 2, np.where(u < p_enterprise + p_pro, 1, 0))


def deals_table(deals: pd.DataFrame, deal_ids: np.ndarray, customer_ids: np.ndarray) -> pd.DataFrame:
    """The typed canonical deals table (dates as datetime64, money as float)."""
    rep_idx = deals["rep_idx"].to_numpy()
    return pd.DataFrame({
        "deal_id": deal_ids,
        "created_date": deals["created_date"].to_numpy(),
        "close_date": deals["close_date"].to_numpy(),
        "stage": deals["stage"].to_numpy(),
        "amount": deals["amount"].to_numpy(),
        "rep": np.array([r.name for r in REPS])[rep_idx],
        "region": np.array([r.region for r in REPS])[rep_idx],
        "product": np.array([p.name for p in PRODUCTS])[deals["product_idx"].to_numpy()],
        "source": np.array(SOURCES)[deals["source_idx"].to_numpy()],
        "customer_id": customer_ids,
        "quote_date": deals["quote_date"].to_numpy(),
        "profit": deals["profit"].to_numpy(),
    })


def numbered_ids(prefix: str, n: int, width: int, first: int = 1) -> np.ndarray:
    """IDs like ``D00001``: sortable text, wide enough for the largest number."""
    numbers = np.arange(first, first + n)
    width = max(width, len(str(first + n - 1)))
    return np.char.add(prefix, np.char.zfill(numbers.astype(str), width)).astype(object)


# --------------------------------------------------------------------------------------------------
# The funnel: leads -> deals -> customers -> subscriptions


def _leads(rng: np.random.Generator, cal: Calendar, scale: float) -> pd.DataFrame:
    """Leads with creation timestamps, response times that depend on the rep, and conversions."""
    counts = _monthly_counts(rng, LEADS_PER_MONTH * scale, cal)
    n = int(counts.sum())
    day = draw_days_in_months(rng, np.repeat(np.arange(cal.months), counts), cal)
    day = np.sort(day)
    minute_of_day = np.clip(rng.normal(13.0, 3.5, n), 0.0, 23.98) * 60
    created = day.astype("datetime64[s]") + (np.floor(minute_of_day) * 60).astype("timedelta64[s]")

    source = rng.choice(len(SOURCES), size=n, p=SOURCE_LEAD_SHARE)
    region = rng.choice(len(REGIONS), size=n, p=REGION_LEAD_SHARE)
    reps_of_region = np.array([[i for i, r in enumerate(REPS) if r.region == reg] for reg in REGIONS])
    rep = reps_of_region[region, rng.integers(0, reps_of_region.shape[1], n)]
    skill = np.array([r.skill for r in REPS])[rep]

    contacted = rng.random(n) < np.clip(0.80 + 0.10 * skill, 0.0, 0.98)
    delay_hours = np.minimum(rng.lognormal(np.log(5.0 / skill**2), 1.0, n), 240.0)
    first_contact = created + np.rint(delay_hours * 3600).astype("timedelta64[s]")
    last_second = (cal.end + np.timedelta64(1, "D")).astype("datetime64[s]")
    contacted &= first_contact < last_second
    first_contact = np.where(contacted, first_contact, np.datetime64("NaT"))

    converts = contacted & (rng.random(n) < SOURCE_CONVERSION[source] * np.sqrt(skill))
    converted = (first_contact.astype("datetime64[D]")
                 + np.rint(rng.gamma(2.0, 5.0, n)).astype(int).astype("timedelta64[D]"))
    converted = np.where(converts, _clip_to_calendar(converted, cal), np.datetime64("NaT"))

    return pd.DataFrame({
        "lead_id": numbered_ids("L", n, 6),
        "created": created,
        "source_idx": source,
        "rep_idx": rep,
        "first_contact": first_contact,
        "converted": converted,
    })


def _deals(rng: np.random.Generator, leads: pd.DataFrame, cal: Calendar) -> pd.DataFrame:
    """Opportunities from converted leads (new prospects) plus repeat deals of existing customers."""
    from_leads = leads[leads["converted"].notna()]
    new = draw_deal_outcomes(rng, from_leads["converted"].to_numpy().astype("datetime64[D]"),
                             from_leads["rep_idx"].to_numpy(), from_leads["source_idx"].to_numpy(),
                             np.zeros(len(from_leads), dtype=bool), cal)
    new["lead_id"] = from_leads["lead_id"].to_numpy()
    opening = _opening_pipeline(rng, len(new) / cal.months, cal)
    opening["customer_id"] = numbered_ids("C", len(opening), 5)
    new["customer_id"] = numbered_ids("C", len(new), 5, first=len(opening) + 1)
    repeat = _repeat_deals(rng, pd.concat([opening, new], ignore_index=True), cal)
    deals = pd.concat([opening, new, repeat], ignore_index=True)
    deals = deals.sort_values(["created_date", "lead_id"], kind="stable", na_position="last")
    deals = deals.reset_index(drop=True)
    deals["deal_id"] = numbered_ids("D", len(deals), 5)
    return deals


def _opening_pipeline(rng: np.random.Generator, deals_per_month: float, cal: Calendar) -> pd.DataFrame:
    """Deals created in the four months before the export window that were still open at its start.

    Without them the first months would show almost no closed revenue (every deal would start from
    zero): a real CRM export always begins with a pipeline in flight. Their leads predate the window.
    """
    lookback_days = 122
    n = int(rng.poisson(deals_per_month * lookback_days / 30.44))
    created = np.sort(cal.start - rng.integers(1, lookback_days + 1, n).astype("timedelta64[D]"))
    rep = rng.integers(0, len(REPS), n)
    source = rng.choice(len(SOURCES), size=n, p=SOURCE_LEAD_SHARE)
    deals = draw_deal_outcomes(rng, created, rep, source, np.zeros(n, dtype=bool), cal)
    deals["lead_id"] = None
    in_flight = deals["close_date"].isna() | (deals["close_date"] >= pd.Timestamp(cal.start))
    return deals[in_flight].reset_index(drop=True)


def _repeat_deals(rng: np.random.Generator, new: pd.DataFrame, cal: Calendar) -> pd.DataFrame:
    """Customers come back: each repeat deal belongs to a customer won before it was created."""
    won = new[new["stage"] == "won"].sort_values("close_date", kind="stable")
    won_close = won["close_date"].to_numpy().astype("datetime64[D]")
    n = int(rng.poisson(REPEAT_DEAL_SHARE * len(new)))
    created = np.sort(draw_dates(rng, n, cal))
    eligible = np.searchsorted(won_close, created, side="left")
    created, eligible = created[eligible > 0], eligible[eligible > 0]
    pick = np.floor(rng.random(len(created)) * eligible).astype(int)
    owner = won.iloc[pick]
    repeat = draw_deal_outcomes(rng, created, owner["rep_idx"].to_numpy(), owner["source_idx"].to_numpy(),
                                np.ones(len(created), dtype=bool), cal)
    repeat["lead_id"] = None
    repeat["customer_id"] = owner["customer_id"].to_numpy()
    return repeat


def _first_wins(deals: pd.DataFrame) -> pd.DataFrame:
    """Each customer's first won deal: the day they became a customer and what they bought."""
    won = deals[deals["stage"] == "won"].sort_values(["close_date", "deal_id"], kind="stable")
    return won.drop_duplicates("customer_id").reset_index(drop=True)


def _subscriptions(rng: np.random.Generator, deals: pd.DataFrame, cal: Calendar) -> pd.DataFrame:
    """Every new customer starts a subscription shortly after the win; churn is monthly, by tier."""
    first = _first_wins(deals)
    product = first["product_idx"].to_numpy()
    start = (first["close_date"].to_numpy().astype("datetime64[D]")
             + rng.integers(0, 15, len(first)).astype("timedelta64[D]"))
    churn = np.array([p.monthly_churn for p in PRODUCTS])[product]
    lifetime_days = np.rint(rng.geometric(churn) * 30.44 - rng.random(len(first)) * 30.44).astype(int)
    end = _clip_to_calendar(start + np.maximum(lifetime_days, 1).astype("timedelta64[D]"), cal)
    mrr = np.round(np.array([p.mrr for p in PRODUCTS])[product] * rng.lognormal(0.0, 0.3, len(first)), 2)
    subs = pd.DataFrame({"customer_id": first["customer_id"].to_numpy(), "start_date": start,
                         "end_date": end, "mrr": mrr})
    subs = subs[subs["start_date"] <= pd.Timestamp(cal.end)]
    return subs.sort_values(["start_date", "customer_id"], kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------------------------------
# Everything around the funnel


def _activities(rng: np.random.Generator, leads: pd.DataFrame, deals: pd.DataFrame,
                cal: Calendar) -> pd.DataFrame:
    """Calls, emails, meetings and follow-ups: prospecting on leads, then working the deal."""
    contacted = leads[leads["first_contact"].notna()]
    lead_deal = deals.dropna(subset=["lead_id"]).set_index("lead_id")["deal_id"]
    deal_of_lead = contacted["lead_id"].map(lead_deal).to_numpy()
    first_day = contacted["first_contact"].to_numpy().astype("datetime64[D]")

    extra = rng.poisson(np.where(pd.notna(deal_of_lead), 3.0, 1.6))
    lead_pos = np.concatenate([np.arange(len(contacted)), np.repeat(np.arange(len(contacted)), extra)])
    n_lead = len(lead_pos)
    is_first = np.arange(n_lead) < len(contacted)
    lead_dates = first_day[lead_pos] + np.where(is_first, 0, rng.integers(1, 46, n_lead)).astype("timedelta64[D]")
    lead_types = np.where(is_first, rng.choice(2, n_lead, p=[0.6, 0.4]),
                          rng.choice(4, n_lead, p=[0.30, 0.40, 0.10, 0.20]))
    converted_day = contacted["converted"].to_numpy().astype("datetime64[D]")[lead_pos]
    lead_deal_ids = np.where(lead_dates >= converted_day, deal_of_lead[lead_pos], None)

    worked = deals[deals["created_date"].notna()]
    deal_end = worked["close_date"].fillna(pd.Timestamp(cal.end)).to_numpy().astype("datetime64[D]")
    deal_start = worked["created_date"].to_numpy().astype("datetime64[D]")
    touches = rng.poisson(2.0 + worked["product_idx"].to_numpy())
    deal_pos = np.repeat(np.arange(len(worked)), touches)
    span = (deal_end - deal_start).astype(int)[deal_pos]
    deal_dates = deal_start[deal_pos] + np.floor(rng.random(len(deal_pos)) * (span + 1)).astype("timedelta64[D]")

    table = pd.DataFrame({
        "date": np.concatenate([lead_dates, deal_dates]),
        "type": np.array(ACTIVITY_TYPES)[np.concatenate(
            [lead_types, rng.choice(4, len(deal_pos), p=[0.30, 0.25, 0.30, 0.15])])],
        "rep_idx": np.concatenate([contacted["rep_idx"].to_numpy()[lead_pos],
                                   worked["rep_idx"].to_numpy()[deal_pos]]),
        "lead_id": np.concatenate([contacted["lead_id"].to_numpy()[lead_pos],
                                   worked["lead_id"].to_numpy()[deal_pos]]),
        "deal_id": np.concatenate([lead_deal_ids, worked["deal_id"].to_numpy()[deal_pos]]),
    })
    table = table[(table["date"] >= pd.Timestamp(cal.start)) & (table["date"] <= pd.Timestamp(cal.end))]
    table = table.sort_values(["date", "rep_idx"], kind="stable").reset_index(drop=True)
    table.insert(0, "activity_id", numbered_ids("A", len(table), 6))
    table["rep"] = np.array([r.name for r in REPS])[table.pop("rep_idx").to_numpy()]
    return table


SPEND_LINES: tuple[tuple[str, str, str, float], ...] = (
    ("marketing", "ads", "D", 60_000.0),
    ("marketing", "web", "W", 25_000.0),
    ("marketing", "events", "W", 40_000.0),
    ("marketing", "partner", "W", 20_000.0),
    ("marketing", "referral", "W", 5_000.0),
    ("sales", "team", "W", 150_000.0),
    ("sales", "tools", "W", 15_000.0),
)
"""(category, channel, D=daily/W=weekly rows, monthly budget at scale 1 before seasonality)."""


def _spend(rng: np.random.Generator, cal: Calendar, scale: float) -> pd.DataFrame:
    """Marketing by channel and sales cost; ads are booked daily, everything else weekly (Mondays)."""
    days = np.arange(cal.start, cal.end + np.timedelta64(1, "D"))
    mondays = days[(days.astype(int) + 3) % 7 == 0]  # 1970-01-01 was a Thursday
    profile = volume_profile(cal)
    frames = []
    for category, channel, grain, monthly in SPEND_LINES:
        dates = days if grain == "D" else mondays
        per_row = monthly * scale * profile[cal.month_index(dates)] / (30.44 if grain == "D" else 4.35)
        noise = rng.lognormal(0.0, 0.35 if channel == "events" else 0.12, len(dates))
        frames.append(pd.DataFrame({"date": dates, "category": category,
                                    "amount": np.round(per_row * noise, 2), "channel": channel}))
    spend = pd.concat(frames).sort_values(["date", "category", "channel"], kind="stable")
    return spend.reset_index(drop=True)


def _customers_before(rng: np.random.Generator, dates: np.ndarray,
                      first: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """A random customer already won before each date; dates with no customer yet are dropped."""
    became = first["close_date"].to_numpy().astype("datetime64[D]")
    eligible = np.searchsorted(became, dates, side="left")
    keep = eligible > 0
    pick = np.floor(rng.random(int(keep.sum())) * eligible[keep]).astype(int)
    return dates[keep], first["customer_id"].to_numpy()[pick]


def _per_customer_dates(rng: np.random.Generator, per_customer: float, first: pd.DataFrame,
                        cal: Calendar) -> np.ndarray:
    """Sorted event dates whose monthly volume grows with the number of customers won so far."""
    became = first["close_date"].to_numpy().astype("datetime64[D]")
    mid_month = cal.month_starts[:-1] + np.timedelta64(14, "D")
    counts = rng.poisson(per_customer * np.searchsorted(became, mid_month, side="left"))
    return np.sort(draw_days_in_months(rng, np.repeat(np.arange(cal.months), counts), cal))


def _surveys(rng: np.random.Generator, deals: pd.DataFrame, cal: Calendar) -> pd.DataFrame:
    """NPS (0-10) and CSAT (1-5) from existing customers; promoters grow slowly as the product matures."""
    first = _first_wins(deals)
    parts = []
    for kind, per_customer in (("nps", 0.05), ("csat", 0.08)):
        dates = _per_customer_dates(rng, per_customer, first, cal)
        dates, customers = _customers_before(rng, dates, first)
        if kind == "nps":
            maturity = cal.month_index(dates) / max(cal.months, 1)
            promoter, passive = 0.48 + 0.08 * maturity, 0.30
            u = rng.random(len(dates))
            score = np.where(u < promoter, rng.integers(9, 11, len(dates)),
                             np.where(u < promoter + passive, rng.integers(7, 9, len(dates)),
                                      rng.integers(0, 7, len(dates))))
        else:
            score = rng.choice(np.arange(1, 6), len(dates), p=[0.04, 0.07, 0.17, 0.40, 0.32])
        parts.append(pd.DataFrame({"response_date": dates, "type": kind, "score": score,
                                   "customer_id": customers}))
    return pd.concat(parts).sort_values(["response_date", "type"], kind="stable").reset_index(drop=True)


def _tickets(rng: np.random.Generator, deals: pd.DataFrame, cal: Calendar) -> pd.DataFrame:
    """Support tickets grow with the customer base."""
    first = _first_wins(deals)
    dates, customers = _customers_before(rng, _per_customer_dates(rng, 0.10, first, cal), first)
    return pd.DataFrame({"ticket_id": numbered_ids("T", len(dates), 5), "created_date": dates,
                         "customer_id": customers})


def _timesheets(rng: np.random.Generator, cal: Calendar) -> pd.DataFrame:
    """Per rep per working day; stronger reps protect more selling time."""
    days = np.arange(cal.start, cal.end + np.timedelta64(1, "D"))
    weekday = (days.astype(int) + 3) % 7  # Monday = 0
    month = days.astype("datetime64[M]")
    month_of_year = month.astype(int) % 12 + 1
    day_of_month = (days - month.astype("datetime64[D]")).astype(int) + 1
    new_year = (month_of_year == 1) & (day_of_month == 1)
    christmas = (month_of_year == 12) & np.isin(day_of_month, [25, 26])
    holiday = new_year | christmas
    workdays = days[(weekday < 5) & ~holiday]
    rep_idx = np.tile(np.arange(len(REPS)), len(workdays))
    dates = np.repeat(workdays, len(REPS))
    skill = np.array([r.skill for r in REPS])[rep_idx]
    total = np.where(rng.random(len(dates)) < 0.05, 4.0, 8.0)
    share = np.clip(rng.normal(0.30 + 0.12 * (skill - 1.0), 0.07), 0.05, 0.8)
    return pd.DataFrame({"date": dates, "rep": np.array([r.name for r in REPS])[rep_idx],
                         "selling_hours": np.round(total * share, 1), "total_hours": total})


def monthly_revenue(deals: pd.DataFrame, cal: Calendar) -> np.ndarray:
    """Won amount per calendar month by close_date (the spec's revenue KPI), as the plan's basis."""
    won = deals[(deals["stage"] == "won") & deals["close_date"].notna()]
    month = cal.month_index(won["close_date"].to_numpy().astype("datetime64[D]"))
    return np.bincount(month, weights=won["amount"].to_numpy(), minlength=cal.months)


def _forecasts(rng: np.random.Generator, deals: pd.DataFrame, cal: Calendar) -> pd.DataFrame:
    """A forecast per month, off by roughly 5-15% either way, rounded the way a sales team would."""
    error = np.clip(rng.normal(0.0, 0.10, cal.months), -0.25, 0.25)
    forecast = np.round(monthly_revenue(deals, cal) * (1.0 + error), -3)
    return pd.DataFrame({"period": cal.period_labels(), "forecast": forecast})


def seasonal_plan(actual: np.ndarray, cal: Calendar, stretch: float) -> np.ndarray:
    """A plan that follows the seasonal growth curve, fitted to the level achieved, plus a stretch."""
    profile = volume_profile(cal)
    return actual.sum() / profile.sum() * profile * stretch


def _targets(deals: pd.DataFrame, leads: pd.DataFrame, subs: pd.DataFrame, spend: pd.DataFrame,
             cal: Calendar) -> pd.DataFrame:
    """Monthly plan values: company revenue, per-rep quotas and a few company-wide KPI targets."""
    periods = cal.period_labels()
    revenue_plan = np.round(seasonal_plan(monthly_revenue(deals, cal), cal, 1.05), -3)
    rows = [pd.DataFrame({"period": periods, "kpi": "revenue", "value": revenue_plan, "scope": "all"})]

    # quotas are set the way sales leaders set them: from each rep's track record, pulled halfway to
    # an even split, so strong reps carry more quota and attainment spreads around 100%
    won_deals = deals[(deals["stage"] == "won") & deals["close_date"].notna()]
    amounts = pd.to_numeric(won_deals["amount"], errors="coerce")
    by_rep = amounts.groupby(won_deals["rep_idx"]).sum()
    history_share = np.array([by_rep.get(i, 0.0) for i in range(len(REPS))]) / max(by_rep.sum(), 1.0)
    quota_share = 0.5 * history_share + 0.5 / len(REPS)
    for rep, share in zip(REPS, quota_share):
        rows.append(pd.DataFrame({"period": periods, "kpi": "revenue",
                                  "value": np.round(revenue_plan * share, -2), "scope": rep.name}))

    closed = deals[deals["stage"].isin(["won", "lost"]) & deals["close_date"].notna()
                   & deals["created_date"].notna()]
    won = closed[closed["stage"] == "won"]
    won_per_month = np.bincount(cal.month_index(won["close_date"].to_numpy().astype("datetime64[D]")),
                                minlength=cal.months)
    first = _first_wins(deals)
    new_per_month = np.bincount(cal.month_index(first["close_date"].to_numpy().astype("datetime64[D]")),
                                minlength=cal.months)
    leads_per_month = np.bincount(cal.month_index(leads["created"].to_numpy().astype("datetime64[D]")),
                                  minlength=cal.months)
    cycle = (won["close_date"] - won["created_date"]).dt.days.mean()
    cac = spend["amount"].sum() / max(len(first), 1)

    plan = {
        "win_rate": np.full(cal.months, round(len(won) / max(len(closed), 1) + 0.02, 2)),
        "deals_won": np.rint(seasonal_plan(won_per_month, cal, 1.05)),
        "new_customers": np.rint(seasonal_plan(new_per_month, cal, 1.05)),
        "leads_created": np.round(seasonal_plan(leads_per_month, cal, 1.05), -1),
        "mrr": np.round(_mrr_trend(subs, cal) * 1.03, -2),
        "churn_rate": np.full(cal.months, 0.02),
        "cac": np.full(cal.months, round(cac * 0.95, -2)),
        "sales_cycle_days": np.full(cal.months, round(float(np.nan_to_num(cycle)) * 0.95)),
    }
    for kpi, values in plan.items():
        rows.append(pd.DataFrame({"period": periods, "kpi": kpi, "value": values, "scope": "all"}))
    return pd.concat(rows, ignore_index=True)


def _mrr_trend(subs: pd.DataFrame, cal: Calendar) -> np.ndarray:
    """MRR active at each month end, smoothed by a straight line (plans are made on trends)."""
    month_end = cal.month_starts[1:] - np.timedelta64(1, "D")
    start = subs["start_date"].to_numpy().astype("datetime64[D]")
    end = subs["end_date"].to_numpy().astype("datetime64[D]")
    active = (start[None, :] <= month_end[:, None]) & ~(end[None, :] <= month_end[:, None])
    mrr = active.astype(float) @ subs["mrr"].to_numpy()
    if cal.months < 2:
        return mrr
    slope, intercept = np.polyfit(np.arange(cal.months), mrr, 1)
    return np.maximum(intercept + slope * np.arange(cal.months), 0.0)


# --------------------------------------------------------------------------------------------------
# Data-quality quirks and CSV text


def _add_quirks(rng: np.random.Generator, deals: pd.DataFrame) -> pd.DataFrame:
    """A few broken rows a real CRM export would have, so the data-quality report has work to do.

    Documented in samples/data/README.md: 3 open deals without created_date (early-stage prospects,
    as kpi-spec.md describes), 2 won deals without
    close_date (repeat purchases, so every customer still has a dated first win), 1 amount "n/a".
    """
    deals = deals.copy()
    deals["amount_text"] = money_text(deals["amount"].to_numpy())
    taken: set[int] = set()

    def pick(candidates: pd.Index, k: int) -> list[int]:
        free = [i for i in candidates if i not in taken]
        chosen = sorted(int(i) for i in rng.choice(free, size=min(k, len(free)), replace=False))
        taken.update(chosen)
        return chosen

    repeat_wins = deals.index[(deals["stage"] == "won") & deals["repeat"]]
    first_win_ids = set(_first_wins(deals)["deal_id"])
    repeat_wins = repeat_wins[~deals.loc[repeat_wins, "deal_id"].isin(first_win_ids)]
    deals.loc[pick(repeat_wins, 2), "close_date"] = pd.NaT
    deals.loc[pick(deals.index[deals["stage"] == "open"], 3), "created_date"] = pd.NaT
    deals.loc[pick(deals.index[deals["stage"] == "lost"], 1), "amount_text"] = "n/a"
    return deals


def money_text(values: np.ndarray) -> np.ndarray:
    """Two decimals, empty for missing: fixed formatting keeps the CSVs byte-stable."""
    values = np.asarray(values, dtype=float)
    text = np.char.mod("%.2f", np.nan_to_num(values)).astype(object)
    text[np.isnan(values)] = ""
    return text


def date_text(values: np.ndarray, unit: str = "D") -> np.ndarray:
    """ISO dates (or ``YYYY-MM-DD HH:MM:SS`` for unit "s"), empty for NaT."""
    values = np.asarray(values).astype(f"datetime64[{unit}]")
    text = np.datetime_as_string(values, unit=unit).astype(object)
    if unit == "s":
        text = np.char.replace(text.astype(str), "T", " ").astype(object)
    text[np.isnat(values)] = ""
    return text


def number_text(values: np.ndarray) -> np.ndarray:
    """Plain decimal text without float noise (``0.42``, ``1234000``)."""
    return np.char.mod("%.10g", np.asarray(values, dtype=float)).astype(object)


def deals_csv_frame(deals: pd.DataFrame) -> pd.DataFrame:
    """The canonical deals table as text; ``amount_text`` (with quirks) wins over ``amount`` if present."""
    amount = deals["amount_text"].to_numpy() if "amount_text" in deals else money_text(deals["amount"].to_numpy())
    table = deals_table(deals, deals["deal_id"].to_numpy(), deals["customer_id"].to_numpy())
    return table.assign(
        created_date=date_text(table["created_date"].to_numpy()),
        close_date=date_text(table["close_date"].to_numpy()),
        quote_date=date_text(table["quote_date"].to_numpy()),
        amount=amount,
        profit=money_text(table["profit"].to_numpy()),
    )


def _csv_frames(datasets: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    leads, acts = datasets["leads"], datasets["activities"]
    subs, spend = datasets["subscriptions"], datasets["spend"]
    return {
        "deals": deals_csv_frame(datasets["deals"]),
        "leads": pd.DataFrame({
            "lead_id": leads["lead_id"],
            "created_date": date_text(leads["created"].to_numpy(), "s"),
            "source": np.array(SOURCES)[leads["source_idx"].to_numpy()],
            "rep": np.array([r.name for r in REPS])[leads["rep_idx"].to_numpy()],
            "first_contact_at": date_text(leads["first_contact"].to_numpy(), "s"),
            "converted_date": date_text(leads["converted"].to_numpy()),
        }),
        "activities": acts.assign(date=date_text(acts["date"].to_numpy())),
        "subscriptions": subs.assign(start_date=date_text(subs["start_date"].to_numpy()),
                                     end_date=date_text(subs["end_date"].to_numpy()),
                                     mrr=money_text(subs["mrr"].to_numpy())),
        "spend": spend.assign(date=date_text(spend["date"].to_numpy()),
                              amount=money_text(spend["amount"].to_numpy())),
        "targets": datasets["targets"].assign(value=number_text(datasets["targets"]["value"].to_numpy())),
        "surveys": datasets["surveys"].assign(
            response_date=date_text(datasets["surveys"]["response_date"].to_numpy())),
        "tickets": datasets["tickets"].assign(
            created_date=date_text(datasets["tickets"]["created_date"].to_numpy())),
        "timesheets": datasets["timesheets"].assign(
            date=date_text(datasets["timesheets"]["date"].to_numpy()),
            selling_hours=number_text(datasets["timesheets"]["selling_hours"].to_numpy()),
            total_hours=number_text(datasets["timesheets"]["total_hours"].to_numpy())),
        "forecasts": datasets["forecasts"].assign(
            forecast=number_text(datasets["forecasts"]["forecast"].to_numpy())),
    }


def build_datasets(*, seed: int = 7, start: str = "2024-01-01", months: int = 24,
                   scale: float = 1.0) -> dict[str, pd.DataFrame]:
    """All ten datasets as canonical text tables (what ``generate`` writes), in canonical order."""
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    cal = make_calendar(start, months)
    rng = dict(zip(("leads", "deals", "subs", "activities", "spend", "surveys", "tickets",
                    "timesheets", "forecasts", "quirks"),
                   (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(10))))
    leads = _leads(rng["leads"], cal, scale)
    deals = _deals(rng["deals"], leads, cal)
    subs = _subscriptions(rng["subs"], deals, cal)
    spend = _spend(rng["spend"], cal, scale)
    typed = {
        "deals": _add_quirks(rng["quirks"], deals),
        "leads": leads,
        "activities": _activities(rng["activities"], leads, deals, cal),
        "subscriptions": subs,
        "spend": spend,
        "targets": _targets(deals, leads, subs, spend, cal),
        "surveys": _surveys(rng["surveys"], deals, cal),
        "tickets": _tickets(rng["tickets"], deals, cal),
        "timesheets": _timesheets(rng["timesheets"], cal),
        "forecasts": _forecasts(rng["forecasts"], deals, cal),
    }
    frames = _csv_frames(typed)
    return {name: frames[name].loc[:, list(columns)] for name, columns in DATASET_COLUMNS.items()}


def generate(out_dir: Path, *, seed: int = 7, start: str = "2024-01-01", months: int = 24,
             scale: float = 1.0) -> dict[str, Path]:
    """Write the ten canonical datasets as ``<out_dir>/<dataset>.csv``; same arguments, same bytes."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for name, frame in build_datasets(seed=seed, start=start, months=months, scale=scale).items():
        path = out_dir / f"{name}.csv"
        frame.to_csv(path, index=False, lineterminator="\n")
        written[name] = path
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m samples.generate", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("samples/data"), help="output folder")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--start", default="2024-01-01", help="first day of the first month, YYYY-MM-DD")
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--scale", type=float, default=1.0, help="volume multiplier (1.0: ~12k leads)")
    args = parser.parse_args(argv)
    for name, path in generate(args.out, seed=args.seed, start=args.start, months=args.months,
                               scale=args.scale).items():
        print(f"{name:<14} {path}")


if __name__ == "__main__":
    main()
