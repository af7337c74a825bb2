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
from typing import Literal, get_args

from reportgen.kpis.datasets import CANONICAL_DATASETS, ColumnSpec
from reportgen.kpis.measures import ANCHORS, CUSTOMER_WINDOWS, LOOKUPS, MEASURES, Anchor, Measure

# the data model and the measures have homes of their own; the catalogue is where callers find all three
__all__ = ["ANCHORS", "BUILTIN_KPIS", "CANONICAL_DATASETS", "CUSTOMER_WINDOWS", "LOOKUPS", "MEASURES", "OBJECTIVES",
           "UNITS", "Anchor", "ColumnSpec", "Direction", "KpiDefinition", "Measure", "Unit"]

#: The one home of the KPI units and directions: the config's ``unit``/``direction``, the engine and
#: the formatters all read these.
Unit = Literal["money", "percent", "count", "days", "hours", "score", "ratio"]
Direction = Literal["higher", "lower"]
#: How a KPI's trend is carried forward (engine/forecast.py, ``scorecard.forecast_method``).
ForecastMethod = Literal["moving_average", "linear_trend"]

UNITS: tuple[str, ...] = get_args(Unit)


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
