"""One currency per scorecard: amounts in several currencies are converted at dated rates, or refused.

A Salesforce export of a company selling in Mexico, Colombia, Peru and the US holds MXN, COP, PEN and
USD amounts side by side; summed they make a number that means nothing ("MX$411.4M"). A dataset says
its currency with ``currency:`` or a mapped ``currency`` column. One currency, the scorecard's, passes.
Any other currency stops the build listing them, unless the config names an ``fx_rates`` dataset
(date, currency, rate: units of the scorecard's currency per unit of ``currency``), which converts
every money column at the latest rate on or before the row's date; the record says from where.
A row no rate covers is left out and counted, never converted at a guessed rate.
"""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from reportgen.data.sql import lit, one_row, q
from reportgen.errors import DataError

if TYPE_CHECKING:
    from reportgen.config.datasets import Dataset
    from reportgen.config.models import LoadedConfig
    from reportgen.data.loaded import LoadedData

#: The canonical dataset of exchange rates.
FX = "fx_rates"
#: The mapped column holding each row's currency code.
CURRENCY = "currency"
#: Money columns of each canonical dataset (a custom dataset's currency is checked, not converted).
MONEY_COLUMNS = {"deals": ("amount", "profit"), "subscriptions": ("mrr",), "spend": ("amount",),
                 "forecasts": ("forecast",)}
#: The date a row's amount is converted on: the first of these the row has.
RATE_DATE = {"deals": ("close_date", "created_date"), "subscriptions": ("start_date",), "spend": ("date",)}
NO_RATE = "no FX rate for its currency and date"


def needs_currency_check(name: str, ds: Dataset) -> bool:
    """Whether a dataset names a currency (its own or per row): checked locally after loading."""
    mapped = {c for v in ds.columns.values() for c in ([v] if isinstance(v, str) else v)}
    return name != FX and (ds.currency is not None or CURRENCY in mapped)


def settle_currency(data: LoadedData, name: str, ds: Dataset, loaded: LoadedConfig) -> None:
    """Check (and if the config allows, convert) the currencies of a loaded dataset's money columns."""
    if not needs_currency_check(name, ds) or name in data.remote:
        return
    con = data.con
    target = loaded.config.scorecard.currency.upper()
    default = (ds.currency or target).upper()
    has_column = CURRENCY in data.columns.get(name, [])
    code = f"coalesce(upper(trim({q(CURRENCY)})), {lit(default)})" if has_column else lit(default)
    codes = [str(r[0]) for r in con.execute(f"SELECT DISTINCT {code} FROM {q(name)} ORDER BY 1").fetchall()]
    if not codes or codes == [target]:
        return
    money = [c for c in MONEY_COLUMNS.get(name, ()) if c in data.columns[name]]
    dated = [c for c in RATE_DATE.get(name, ()) if c in data.columns[name]]
    source = data.quality[name].source
    if FX not in data.columns or not money or not dated:
        listed = ", ".join(codes)
        where = f"dataset {name!r} ({source}): "
        if len(codes) == 1:
            raise DataError(f"{where}amounts are in {listed} but scorecard.currency is {target}; set "
                            f"scorecard.currency: {listed}, or convert them with an {FX} dataset (date, currency, "
                            f"rate in {target} per unit)")
        raise DataError(f"{where}amounts in {len(codes)} currencies: {listed}; summed they would mean nothing. "
                        f"Convert them to {target} with an {FX} dataset (datasets: {{{FX}: {{path: rates.csv}}}} "
                        f"with columns date, currency, rate in {target} per unit), or export one currency")
    on = f"coalesce({', '.join(q(c) for c in dated)})"
    rate = f"CASE WHEN __cur = {lit(target)} THEN 1.0 ELSE __fx.rate END"
    converted = ", ".join(f"{q(c)} * __rate AS {q(c)}" for c in money)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {q(name + '__fx')} AS SELECT * EXCLUDE (__cur, __on, "
                f"__fx_date) REPLACE ({converted}) FROM (SELECT t.*, __fx.__fx_date, {rate} AS __rate FROM "
                f"(SELECT *, {code} AS __cur, {on} AS __on FROM {q(name)}) t ASOF LEFT JOIN "
                f"(SELECT upper(trim(currency)) AS __code, date AS __fx_date, rate FROM {q(FX)} "
                f"WHERE rate IS NOT NULL AND date IS NOT NULL) __fx "
                f"ON t.__cur = __fx.__code AND t.__on >= __fx.__fx_date)")
    missing = int(one_row(con, f"SELECT count(*) FROM {q(name + '__fx')} WHERE __rate IS NULL")[0])
    con.execute(f"CREATE OR REPLACE TABLE {q(name)} AS SELECT * EXCLUDE (__rate) FROM {q(name + '__fx')} "
                "WHERE __rate IS NOT NULL")
    con.execute(f"DROP TABLE {q(name + '__fx')}")
    fx_q = data.quality[FX]
    others = ", ".join(c for c in codes if c != target)
    span = f", {fx_q.first_date} .. {fx_q.last_date}" if fx_q.first_date else ""
    note = (f"amounts in {others} converted to {target} at the latest rate on or before each row's "
            f"{' (else '.join(dated)}{')' * (len(dated) - 1)}, from {fx_q.source} ({fx_q.rows_read} rates{span})")
    quality = data.quality[name]
    rejected = dict(quality.rows_rejected)
    if missing:
        rejected[NO_RATE] = missing
    data.quality[name] = replace(quality, rows_rejected=rejected, notes=quality.notes + (note,))
