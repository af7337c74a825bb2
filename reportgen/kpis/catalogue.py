"""The built-in KPI catalogue: every KPI of kpi-spec.md as data.

A KPI is a formula (``expression``) over *measures* and other KPIs. A measure is one SQL aggregate
over one canonical dataset, anchored to a period by a join condition ("closed in P", "open at P.end",
"active the day before P.start"...). Keeping the two apart is what lets the engine run every
aggregate in DuckDB in a handful of queries while the formulas stay short, readable and identical to
the spec text printed in the definitions appendix.

Expression language (parsed by ``reportgen.kpis.expressions``, never ``eval``ed): numbers, names of
measures / KPIs / parameters, ``+ - * /`` (a division by zero or by a missing value is missing),
``prior(x)``, ``year_ago(x)``, ``abs(x)``, ``target(kpi_id)`` and ``lookup(name)``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Unit = Literal["money", "percent", "count", "days", "hours", "score", "ratio"]
Direction = Literal["higher", "lower"]

UNITS: tuple[str, ...] = ("money", "percent", "count", "days", "hours", "score", "ratio")

# --------------------------------------------------------------------------------------------------
# Canonical datasets (kpi-spec.md, "Canonical datasets"): column -> type, and which are required.
# Types: id (text key), text, date (calendar day; a timestamp counts on its day), timestamp, number.
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: Literal["id", "text", "date", "timestamp", "number", "category"]
    required: bool = False
    values: tuple[str, ...] = ()  # the canonical values of a category column


CANONICAL_DATASETS: dict[str, tuple[ColumnSpec, ...]] = {
    "deals": (
        ColumnSpec("deal_id", "id", True),
        ColumnSpec("created_date", "date", True),
        ColumnSpec("close_date", "date"),
        ColumnSpec("stage", "category", True, ("won", "lost", "open")),
        ColumnSpec("amount", "number", True),
        ColumnSpec("rep", "text"),
        ColumnSpec("region", "text"),
        ColumnSpec("product", "text"),
        ColumnSpec("source", "text"),
        ColumnSpec("customer_id", "id"),
        ColumnSpec("quote_date", "date"),
        ColumnSpec("profit", "number"),
    ),
    "leads": (
        ColumnSpec("lead_id", "id", True),
        ColumnSpec("created_date", "timestamp", True),
        ColumnSpec("source", "text"),
        ColumnSpec("rep", "text"),
        ColumnSpec("first_contact_at", "timestamp"),
        ColumnSpec("converted_date", "date"),
    ),
    "activities": (
        ColumnSpec("activity_id", "id", True),
        ColumnSpec("date", "date", True),
        ColumnSpec("type", "category", True, ("call", "email", "meeting", "follow_up")),
        ColumnSpec("rep", "text"),
        ColumnSpec("lead_id", "id"),
        ColumnSpec("deal_id", "id"),
    ),
    "subscriptions": (
        ColumnSpec("customer_id", "id", True),
        ColumnSpec("start_date", "date", True),
        ColumnSpec("end_date", "date"),
        ColumnSpec("mrr", "number", True),
    ),
    "spend": (
        ColumnSpec("date", "date", True),
        ColumnSpec("category", "category", True, ("marketing", "sales")),
        ColumnSpec("amount", "number", True),
        ColumnSpec("channel", "text"),
    ),
    "targets": (
        ColumnSpec("period", "text", True),
        ColumnSpec("kpi", "text", True),
        ColumnSpec("value", "number", True),
        ColumnSpec("scope", "text"),
    ),
    "surveys": (
        ColumnSpec("response_date", "date", True),
        ColumnSpec("type", "category", True, ("nps", "csat")),
        ColumnSpec("score", "number", True),
        ColumnSpec("customer_id", "id"),
    ),
    "tickets": (
        ColumnSpec("ticket_id", "id", True),
        ColumnSpec("created_date", "date", True),
        ColumnSpec("customer_id", "id"),
    ),
    "timesheets": (
        ColumnSpec("date", "date", True),
        ColumnSpec("rep", "text", True),
        ColumnSpec("selling_hours", "number", True),
        ColumnSpec("total_hours", "number", True),
    ),
    "forecasts": (
        ColumnSpec("period", "text", True),
        ColumnSpec("forecast", "number", True),
    ),
}

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

    @property
    def coverage_column(self) -> str | None:
        return self.since or self.day
    split_dimensions: bool = False  # one query per dimension: faster for DISTINCT over exploded rows

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
           coalesce(sum(t.mrr) FILTER (WHERE {_ACTIVE_BEFORE}), 0) AS mrr_start,
           count(*) FILTER (WHERE {_ACTIVE_AT_END}) AS subs_end,
           coalesce(sum(t.mrr) FILTER (WHERE {_ACTIVE_AT_END}), 0) AS mrr_end
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
        Measure("won_amount", "deals_closed", "sum(t.amount) FILTER (WHERE t.stage = 'won')"),
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
        Measure("won_profit", "deals_closed", "sum(t.profit) FILTER (WHERE t.stage = 'won' AND t.profit IS NOT NULL)"),
        Measure(
            "won_amount_with_profit",
            "deals_closed",
            "sum(t.amount) FILTER (WHERE t.stage = 'won' AND t.profit IS NOT NULL)",
        ),
        Measure(
            "won_quoted_count", "deals_closed", "count(*) FILTER (WHERE t.stage = 'won' AND t.quote_date IS NOT NULL)"
        ),
        Measure("closing_reps", "deals_closed", "count(DISTINCT t.rep)"),
        Measure("created_count", "deals_created", "count(*)"),
        Measure("open_amount", "deals_open_at_end", "sum(t.amount)"),
        Measure("open_count", "deals_open_at_end", "count(*)"),
        Measure("quoted_count", "deals_quoted", "count(*)"),
        Measure("won_amount_12m", "deals_won_12m", "sum(t.amount)"),
        Measure("won_count_12m", "deals_won_12m", "count(*)"),
        Measure("won_customers_12m", "deals_customers_12m", "count(*)"),
        Measure("first_won_customers", "deals_first_won", "count(*)"),
        Measure("leads_created_count", "leads_created", "count(*)"),
        Measure("leads_contacted_count", "leads_created", "count(*) FILTER (WHERE t.first_contact_at IS NOT NULL)"),
        Measure(
            "lead_response_hours_sum",
            "leads_created",
            "sum(epoch(t.first_contact_at__ts - t.created_date__ts) / 3600.0) "
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
        Measure("base_mrr_start", "subs_customers", "sum(t.mrr_start) FILTER (WHERE t.subs_start > 0)"),
        Measure("base_mrr_end", "subs_customers", "sum(t.mrr_end) FILTER (WHERE t.subs_start > 0)"),
        Measure(
            "base_mrr_end_capped",
            "subs_customers",
            "sum(least(t.mrr_end, t.mrr_start)) FILTER (WHERE t.subs_start > 0)",
        ),
        Measure("mrr_at_end", "subs_at_end", "sum(t.mrr)"),
        Measure("spend_total", "spend_in", "sum(t.amount)"),
        Measure("spend_marketing", "spend_in", "sum(t.amount) FILTER (WHERE t.category = 'marketing')"),
        Measure("nps_responses", "surveys_in", "count(*) FILTER (WHERE t.type = 'nps')"),
        Measure("nps_promoters", "surveys_in", "count(*) FILTER (WHERE t.type = 'nps' AND t.score >= 9)"),
        Measure("nps_detractors", "surveys_in", "count(*) FILTER (WHERE t.type = 'nps' AND t.score <= 6)"),
        Measure("csat_responses", "surveys_in", "count(*) FILTER (WHERE t.type = 'csat')"),
        Measure("csat_satisfied", "surveys_in", "count(*) FILTER (WHERE t.type = 'csat' AND t.score >= 4)"),
        Measure("tickets_count", "tickets_in", "count(*)"),
        Measure("selling_hours", "timesheets_in", "sum(t.selling_hours)"),
        Measure("total_hours", "timesheets_in", "sum(t.total_hours)"),
    )
}

#: Values read per period from a small table rather than aggregated: name -> dataset.
LOOKUPS: dict[str, str] = {"forecast": "forecasts"}


@dataclass(frozen=True)
class KpiDefinition:
    """A KPI as the engine computes it and as the definitions appendix prints it."""

    id: str
    name: str
    unit: Unit
    direction: str
    expression: str
    definition: str
    objective: str = "growth"
    params: dict[str, float] = field(default_factory=dict)
    additive: bool = False  # a coarser grain's target may be summed from its months


def _k(id: str, name: str, unit: Unit, direction: str, expression: str, definition: str,
       objective: str, additive: bool = False, **params: float) -> KpiDefinition:
    return KpiDefinition(id, name, unit, direction, expression, definition, objective, dict(params), additive)


BUILTIN_KPIS: dict[str, KpiDefinition] = {
    k.id: k
    for k in (
        _k("revenue", "Sales revenue", "money", "higher", "won_amount",
           "Sum of deal amounts for won deals with close date in the period.", "growth", additive=True),
        _k("revenue_growth", "Revenue growth rate", "percent", "higher", "revenue / prior(revenue) - 1",
           "Revenue of the period divided by revenue of the previous period, minus 1.", "growth"),
        _k("deals_won", "Deals won", "count", "higher", "won_count",
           "Number of won deals with close date in the period.", "growth", additive=True),
        _k("average_deal_size", "Average deal size (APV)", "money", "higher", "revenue / deals_won",
           "Revenue divided by deals won.", "growth"),
        _k("win_rate", "Opportunity win rate", "percent", "higher", "won_count / (won_count + lost_count)",
           "Won deals divided by won plus lost deals, both with close date in the period.", "efficiency"),
        _k("target_achievement", "Sales target achievement", "percent", "higher", "revenue / target(revenue)",
           "Revenue divided by the revenue target (quota) of the period.", "growth"),
        _k("sales_cycle_days", "Average sales cycle length", "days", "lower", "won_cycle_days / won_cycle_count",
           "Mean days from creation to close over won deals with close date in the period.", "efficiency"),
        _k("pipeline_value", "Sales pipeline size", "money", "higher", "open_amount",
           "Sum of amounts of deals open at the period end: created on or before it and not closed by then.",
           "growth"),
        _k("open_opportunities", "Open opportunities", "count", "higher", "open_count",
           "Number of deals open at the period end.", "growth"),
        _k("sales_velocity", "Sales velocity", "money", "higher",
           "open_opportunities * average_deal_size * win_rate / sales_cycle_days",
           "Open opportunities x average deal size x win rate / sales cycle length (money per day).",
           "efficiency"),
        _k("opportunities_created", "Opportunities created", "count", "higher", "created_count",
           "Number of deals created in the period.", "activity", additive=True),
        _k("quote_to_close", "Quote-to-close ratio", "percent", "higher", "won_quoted_count / quoted_count",
           "Won deals closed in the period that had a quote, divided by deals quoted in the period.",
           "efficiency"),
        _k("profit_margin", "Average profit margin", "percent", "higher", "won_profit / won_amount_with_profit",
           "Sum of profit over sum of amount for won deals closed in the period that have a profit value.",
           "efficiency"),
        _k("new_customers", "New customers", "count", "higher", "first_won_customers",
           "Customers whose first-ever won deal closed in the period.", "customers", additive=True),
        _k("leads_created", "Lead generation volume", "count", "higher", "leads_created_count",
           "Number of leads created in the period.", "activity", additive=True),
        _k("lead_conversion_rate", "Lead conversion rate", "percent", "higher",
           "leads_converted_count / leads_created_count",
           "Leads converted in the period divided by leads created in the period.", "efficiency"),
        _k("lead_to_customer", "Lead-to-customer ratio", "percent", "higher", "new_customers / leads_created",
           "New customers divided by leads created.", "efficiency"),
        _k("lead_response_hours", "Average lead response time", "hours", "lower",
           "lead_response_hours_sum / leads_contacted_count",
           "Mean hours from lead creation to first contact, over leads created in the period that were contacted.",
           "activity"),
        _k("contact_rate", "Rate of contact with leads", "percent", "higher",
           "leads_contacted_count / leads_created_count",
           "Share of leads created in the period that have a first contact.", "activity"),
        _k("cac", "Customer acquisition cost", "money", "lower", "spend_total / new_customers",
           "All sales and marketing spend in the period divided by new customers.", "efficiency"),
        _k("cost_per_lead", "Cost per lead", "money", "lower", "spend_marketing / leads_created",
           "Marketing spend in the period divided by leads created.", "efficiency"),
        _k("clv", "Customer lifetime value", "money", "higher",
           "(won_amount_12m / won_count_12m) * (won_count_12m / won_customers_12m) * customer_lifespan_years",
           "Average deal size x purchase frequency (won deals per customer) over the 12 months ending the "
           "period end, x customer lifespan in years.", "customers", customer_lifespan_years=3.0),
        _k("clv_to_cac", "CLV to CAC ratio", "ratio", "higher", "clv / cac",
           "Customer lifetime value divided by customer acquisition cost.", "efficiency"),
        _k("churn_rate", "Churn rate", "percent", "lower", "customers_lost / customers_at_start",
           "Customers with a subscription active the day before the period and none at its end, divided by "
           "the customers active the day before the period (ending one of two subscriptions is not churn).",
           "customers"),
        _k("retention_rate", "Customer retention rate", "percent", "higher",
           "(customers_at_start - customers_lost) / customers_at_start",
           "Share of customers active the day before the period still active at its end (1 - churn rate).",
           "customers"),
        _k("mrr", "Monthly recurring revenue", "money", "higher", "mrr_at_end",
           "Sum of MRR of subscriptions active at the period end.", "customers"),
        _k("mrr_growth", "MRR growth", "percent", "higher", "mrr / prior(mrr) - 1",
           "MRR at the period end divided by MRR at the previous period end, minus 1.", "customers"),
        _k("active_customers", "Active customers", "count", "higher", "customers_at_end",
           "Customers with a subscription active at the period end (a quarter's value is its last day's).",
           "customers"),
        _k("arpa", "Average revenue per account", "money", "higher", "mrr / active_customers",
           "MRR at the period end divided by active customers.", "customers"),
        _k("nrr", "Net revenue retention", "percent", "higher", "base_mrr_end / base_mrr_start",
           "MRR at the period end of the customers active the day before the period, divided by their MRR "
           "that day (new customers left out; upgrades count, churned customers count 0).", "customers"),
        _k("grr", "Gross revenue retention", "percent", "higher", "base_mrr_end_capped / base_mrr_start",
           "As net revenue retention, but each customer's MRR at the period end is capped at its MRR the day "
           "before the period (no credit for expansion).", "customers"),
        _k("nps", "Net Promoter Score", "score", "higher",
           "100 * (nps_promoters - nps_detractors) / nps_responses",
           "100 x (share of scores 9-10 minus share of scores 0-6), NPS responses in the period.", "customers"),
        _k("csat", "Customer satisfaction", "percent", "higher", "csat_satisfied / csat_responses",
           "Share of CSAT responses in the period scoring 4 or 5 (scale 1-5).", "customers"),
        _k("support_tickets", "Customer support tickets", "count", "lower", "tickets_count",
           "Number of support tickets created in the period.", "customers", additive=True),
        _k("calls_made", "Number of calls made", "count", "higher", "calls_count",
           "Activities of type call dated in the period.", "activity", additive=True),
        _k("emails_sent", "Number of emails", "count", "higher", "emails_count",
           "Activities of type email dated in the period.", "activity", additive=True),
        _k("meetings_scheduled", "Meetings scheduled", "count", "higher", "meetings_count",
           "Activities of type meeting dated in the period.", "activity", additive=True),
        _k("follow_up_rate", "Follow-up rate", "percent", "higher", "followed_up_leads / active_leads",
           "Among leads with any activity in the period, the share that had a follow-up in the period.",
           "activity"),
        _k("time_selling", "Time spent selling", "percent", "higher", "selling_hours / total_hours",
           "Selling hours divided by total hours on timesheets dated in the period.", "activity"),
        _k("sales_per_rep", "Sales per rep", "money", "higher", "revenue / closing_reps",
           "Revenue divided by the number of reps with a won or lost deal closed in the period.", "efficiency"),
        _k("forecast_accuracy", "Sales forecast accuracy", "percent", "higher",
           "1 - abs(lookup(forecast) - revenue) / revenue",
           "1 minus the absolute error of the revenue forecast made before the period, relative to revenue.",
           "efficiency"),
    )
}

OBJECTIVES: tuple[str, ...] = ("growth", "efficiency", "customers", "activity")

_reserved = set(MEASURES) & set(BUILTIN_KPIS)
assert not _reserved, f"measure and KPI ids collide: {_reserved}"
