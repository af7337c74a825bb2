"""Anchors and measures: how a dataset's rows meet a period ("closed in P", "open at P.end", "active the
day before P.start") and the SQL aggregates over them that the KPI formulas read.

Amounts, MRR and hours are added with DuckDB's ``fsum`` (compensated summation), not ``sum``: a plain
sum of doubles depends on the order DuckDB's threads happen to combine their rows in, so two runs on the
same 1M-row export wrote metric CSVs that differed in the 15th digit. ``fsum`` gives the same value on
every run (and one at least as exact); it is ``sum`` in every other respect (NULL over no rows). A
custom measure's ``agg: avg`` is ``favg`` for the same reason. A database that a query is pushed down
to runs its own ``sum`` and ``avg`` (``data.pushdown``). Sums of whole numbers (days, counts) are exact
either way and stay ``sum``."""
from __future__ import annotations

from dataclasses import dataclass

# --------------------------------------------------------------------------------------------------
# Anchors: how a dataset's rows relate to a period ``p`` (columns p.start, p."end", p.start_12m,
# p.day_before). ``relation`` is the row source built from the filtered dataset ``base``.
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Anchor:
    """How rows meet periods. ``join`` is the general condition (any anchor can run as a range join);
    an anchor that places each row on one day also names that ``day`` column (and a row ``where``),
    so the engine can use a fast equi-join on a day -> period table instead."""

    id: str
    dataset: str
    join: str
    relation: str = "SELECT * FROM base"
    description: str = ""
    day: str | None = None
    where: str | None = None
    days_table: str = "days"  # "days_12m" maps a day to every period whose 12-month window holds it
    since: str | None = None  # column whose first date is where this anchor's history begins (default: day)
    #: An anchor that holds a row from one date until another (open deals, active subscriptions) also
    #: states ``join`` as the interval ``opens <= P.end < closes`` (SQL over ``t``; a NULL ``closes``
    #: never counts), so the engine can aggregate rows per pair of period ends instead of per period.
    opens: str | None = None
    closes: str | None = None

    @property
    def coverage_column(self) -> str | None:
        return self.since or self.day
    split_dimensions: bool = False  # one query per dimension: faster for DISTINCT over exploded rows
    #: Rows sit on their snapshot's as-of ``day``, and ``days_table`` maps each period only to its last
    #: snapshot day (a stock: a quarter's value is its last snapshot's); one-stage queries only.
    snapshot: bool = False

    @property
    def per_segment_relation(self) -> bool:
        """True when the relation itself depends on the segment (first-ever won deal per segment)."""
        return "__segment" in self.relation


#: Distinct customers with a won deal in the 12 months ending P.end, without counting DISTINCT over
#: every (deal, period) pair: each won close day maps to the run of periods whose window holds it
#: ([lo, hi] from days_12m); a customer's overlapping runs are merged into islands, and a period
#: counts the islands that cover it. Same number as count(DISTINCT customer_id), a third of the time.
#: Only the calendar periods' rows (ord = base_ord) form the runs; a to-date window row meets the
#: islands through its period (p.base_ord), since its 12 months end where its period ends.
#: Both windows order by (lo, hi, close_date): a total order, or two evaluations could break ties
#: differently and split one island in two.
CUSTOMER_WINDOWS = """
    WITH won AS (SELECT DISTINCT customer_id, __segment, close_date FROM base
                 WHERE stage = 'won' AND close_date IS NOT NULL AND customer_id IS NOT NULL),
         spans AS (SELECT w.customer_id, w.__segment, w.close_date, s.lo, s.hi FROM won w
                   JOIN (SELECT dday, min(ord) AS lo, max(ord) AS hi FROM days_12m WHERE ord = base_ord
                         GROUP BY dday) s
                   ON w.close_date = s.dday),
         ordered AS (SELECT *, max(hi) OVER (PARTITION BY customer_id, __segment ORDER BY lo, hi, close_date
                                             ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_hi
                     FROM spans),
         numbered AS (SELECT *, sum(CASE WHEN prev_hi IS NULL OR lo > prev_hi + 1 THEN 1 ELSE 0 END)
                                OVER (PARTITION BY customer_id, __segment ORDER BY lo, hi, close_date
                                      ROWS UNBOUNDED PRECEDING)
                                AS island
                      FROM ordered)
    SELECT customer_id, __segment, island, min(lo) AS lo, max(hi) AS hi FROM numbered
    GROUP BY customer_id, __segment, island""".strip()


_ACTIVE_BEFORE = "t.start_date <= p.day_before AND (t.end_date IS NULL OR t.end_date > p.day_before)"
_ACTIVE_AT_END = "t.start_date <= p.\"end\" AND (t.end_date IS NULL OR t.end_date > p.\"end\")"

#: One row per (period, customer) with the customer's subscriptions and MRR active on the day before
#: P.start and at P.end. Churn and revenue retention count customers, not subscriptions: a customer
#: who ends one subscription while another runs on has contracted, not churned (kpi-spec.md).
SUBSCRIPTION_CUSTOMERS = f"""
    SELECT p.ord, t.customer_id, t.__segment,
           count(*) FILTER (WHERE {_ACTIVE_BEFORE}) AS subs_start,
           coalesce(fsum(t.mrr) FILTER (WHERE {_ACTIVE_BEFORE}), 0) AS mrr_start,
           count(*) FILTER (WHERE {_ACTIVE_AT_END}) AS subs_end,
           coalesce(fsum(t.mrr) FILTER (WHERE {_ACTIVE_AT_END}), 0) AS mrr_end
    FROM periods p JOIN base t
      ON t.customer_id IS NOT NULL AND t.start_date <= p."end"
         AND (t.end_date IS NULL OR t.end_date > p.day_before)
    GROUP BY p.ord, t.customer_id, t.__segment""".strip()


ANCHORS: dict[str, Anchor] = {
    a.id: a
    for a in (
        Anchor(
            "deals_closed",
            "deals",
            "t.stage IN ('won', 'lost') AND t.close_date BETWEEN p.start AND p.\"end\"",
            day="close_date",
            where="t.stage IN ('won', 'lost')",
            description="won or lost deals with close_date in P",
        ),
        Anchor(
            "deals_created",
            "deals",
            't.created_date BETWEEN p.start AND p."end"',
            day="created_date",
            description="deals with created_date in P",
        ),
        Anchor(
            "deals_open_at_end",
            "deals",
            # two inequalities and no OR, so DuckDB runs an inequality join rather than a filtered cross join
            "t.created_date <= p.\"end\" AND p.\"end\" < (CASE WHEN t.stage = 'open' THEN DATE '9999-12-31' "
            "WHEN t.stage IN ('won', 'lost') THEN t.close_date END)",
            since="created_date",
            opens="t.created_date",
            closes="CASE WHEN t.stage = 'open' THEN DATE '9999-12-31' "
                   "WHEN t.stage IN ('won', 'lost') THEN t.close_date END",
            description="deals open at P.end (an open deal's expected close date is ignored)",
        ),
        Anchor(
            "deals_quoted",
            "deals",
            't.quote_date BETWEEN p.start AND p."end"',
            day="quote_date",
            description="deals with quote_date in P",
        ),
        Anchor(
            "deals_won_12m",
            "deals",
            "t.stage = 'won' AND t.close_date BETWEEN p.start_12m AND p.\"end\"",
            day="close_date",
            where="t.stage = 'won'",
            days_table="days_12m",
            description="won deals closed in the 12 months ending P.end",
        ),
        Anchor(
            "deals_customers_12m",
            "deals",
            "p.base_ord BETWEEN t.lo AND t.hi",
            relation=CUSTOMER_WINDOWS,
            since="close_date",
            description="customers with a won deal closed in the 12 months ending P.end (each counted once)",
        ),
        Anchor(
            "deals_first_won",
            "deals",
            't.first_close BETWEEN p.start AND p."end"',
            relation=(
                "SELECT customer_id, __segment, min(close_date) AS first_close FROM base "
                "WHERE stage = 'won' AND close_date IS NOT NULL AND customer_id IS NOT NULL "
                "GROUP BY customer_id, __segment"
            ),
            day="first_close",
            since="close_date",
            description="customers whose first-ever won deal closed in P",
        ),
        Anchor(
            "leads_created",
            "leads",
            't.created_date BETWEEN p.start AND p."end"',
            day="created_date",
            description="leads created in P",
        ),
        Anchor(
            "leads_converted",
            "leads",
            't.converted_date BETWEEN p.start AND p."end"',
            day="converted_date",
            description="leads converted in P",
        ),
        Anchor(
            "activities_in",
            "activities",
            't.date BETWEEN p.start AND p."end"',
            day="date",
            description="activities dated in P",
        ),
        Anchor(
            "subs_customers",
            "subscriptions",
            "p.ord = t.ord",
            relation=SUBSCRIPTION_CUSTOMERS,
            since="start_date",
            description="customers with a subscription active the day before P.start or at P.end",
        ),
        Anchor(
            "subs_at_end",
            "subscriptions",
            't.start_date <= p."end" AND (t.end_date IS NULL OR t.end_date > p."end")',
            since="start_date",
            opens="t.start_date",
            closes="coalesce(t.end_date, DATE '9999-12-31')",
            description="subscriptions active at P.end",
        ),
        Anchor("spend_in", "spend", 't.date BETWEEN p.start AND p."end"', day="date", description="spend dated in P"),
        Anchor(
            "surveys_in",
            "surveys",
            't.response_date BETWEEN p.start AND p."end"',
            day="response_date",
            description="survey responses in P",
        ),
        Anchor(
            "tickets_in",
            "tickets",
            't.created_date BETWEEN p.start AND p."end"',
            day="created_date",
            description="tickets created in P",
        ),
        Anchor(
            "timesheets_in",
            "timesheets",
            't.date BETWEEN p.start AND p."end"',
            day="date",
            description="timesheet rows dated in P",
        ),
    )
}


@dataclass(frozen=True)
class Measure:
    """One SQL aggregate; an empty set of rows gives ``0`` (sums and counts of nothing are zero)."""

    id: str
    anchor: str
    sql: str

    @property
    def dataset(self) -> str:
        return ANCHORS[self.anchor].dataset


MEASURES: dict[str, Measure] = {
    m.id: m
    for m in (
        Measure("won_amount", "deals_closed", "fsum(t.amount) FILTER (WHERE t.stage = 'won')"),
        Measure("won_count", "deals_closed", "count(*) FILTER (WHERE t.stage = 'won')"),
        Measure("lost_count", "deals_closed", "count(*) FILTER (WHERE t.stage = 'lost')"),
        Measure(
            "won_cycle_days",
            "deals_closed",
            "sum(t.close_date - t.created_date) FILTER (WHERE t.stage = 'won' AND t.created_date IS NOT NULL)",
        ),
        Measure(
            "won_cycle_count", "deals_closed", "count(*) FILTER (WHERE t.stage = 'won' AND t.created_date IS NOT NULL)"
        ),
        Measure("won_profit", "deals_closed", "fsum(t.profit) FILTER (WHERE t.stage = 'won' AND t.profit IS NOT NULL)"),
        Measure(
            "won_amount_with_profit",
            "deals_closed",
            "fsum(t.amount) FILTER (WHERE t.stage = 'won' AND t.profit IS NOT NULL)",
        ),
        Measure(
            "won_quoted_count", "deals_closed", "count(*) FILTER (WHERE t.stage = 'won' AND t.quote_date IS NOT NULL)"
        ),
        Measure("closing_reps", "deals_closed", "count(DISTINCT t.rep)"),
        Measure("created_count", "deals_created", "count(*)"),
        Measure("open_amount", "deals_open_at_end", "fsum(t.amount)"),
        Measure("open_count", "deals_open_at_end", "count(*)"),
        Measure("quoted_count", "deals_quoted", "count(*)"),
        Measure("won_amount_12m", "deals_won_12m", "fsum(t.amount)"),
        Measure("won_count_12m", "deals_won_12m", "count(*)"),
        Measure("won_customers_12m", "deals_customers_12m", "count(*)"),
        Measure("first_won_customers", "deals_first_won", "count(*)"),
        Measure("leads_created_count", "leads_created", "count(*)"),
        Measure("leads_contacted_count", "leads_created", "count(*) FILTER (WHERE t.first_contact_at IS NOT NULL)"),
        Measure(
            "lead_response_hours_sum",
            "leads_created",
            "fsum(epoch(t.first_contact_at__ts - t.created_date__ts) / 3600.0) "
            "FILTER (WHERE t.first_contact_at IS NOT NULL)",
        ),
        Measure("leads_converted_count", "leads_converted", "count(*)"),
        Measure("calls_count", "activities_in", "count(*) FILTER (WHERE t.type = 'call')"),
        Measure("emails_count", "activities_in", "count(*) FILTER (WHERE t.type = 'email')"),
        Measure("meetings_count", "activities_in", "count(*) FILTER (WHERE t.type = 'meeting')"),
        Measure("active_leads", "activities_in", "count(DISTINCT t.lead_id)"),
        Measure("followed_up_leads", "activities_in", "count(DISTINCT t.lead_id) FILTER (WHERE t.type = 'follow_up')"),
        Measure("customers_at_start", "subs_customers", "count(*) FILTER (WHERE t.subs_start > 0)"),
        Measure("customers_lost", "subs_customers", "count(*) FILTER (WHERE t.subs_start > 0 AND t.subs_end = 0)"),
        Measure("customers_at_end", "subs_customers", "count(*) FILTER (WHERE t.subs_end > 0)"),
        Measure("base_mrr_start", "subs_customers", "fsum(t.mrr_start) FILTER (WHERE t.subs_start > 0)"),
        Measure("base_mrr_end", "subs_customers", "fsum(t.mrr_end) FILTER (WHERE t.subs_start > 0)"),
        Measure(
            "base_mrr_end_capped",
            "subs_customers",
            "fsum(least(t.mrr_end, t.mrr_start)) FILTER (WHERE t.subs_start > 0)",
        ),
        Measure("mrr_at_end", "subs_at_end", "fsum(t.mrr)"),
        Measure("spend_total", "spend_in", "fsum(t.amount)"),
        Measure("spend_marketing", "spend_in", "fsum(t.amount) FILTER (WHERE t.category = 'marketing')"),
        Measure("nps_responses", "surveys_in", "count(*) FILTER (WHERE t.type = 'nps')"),
        Measure("nps_promoters", "surveys_in", "count(*) FILTER (WHERE t.type = 'nps' AND t.score >= 9)"),
        Measure("nps_detractors", "surveys_in", "count(*) FILTER (WHERE t.type = 'nps' AND t.score <= 6)"),
        Measure("csat_responses", "surveys_in", "count(*) FILTER (WHERE t.type = 'csat')"),
        Measure("csat_satisfied", "surveys_in", "count(*) FILTER (WHERE t.type = 'csat' AND t.score >= 4)"),
        Measure("tickets_count", "tickets_in", "count(*)"),
        Measure("selling_hours", "timesheets_in", "fsum(t.selling_hours)"),
        Measure("total_hours", "timesheets_in", "fsum(t.total_hours)"),
    )
}

#: Values read per period from a small table rather than aggregated: name -> dataset.
LOOKUPS: dict[str, str] = {"forecast": "forecasts"}
