"""Exports with a lookup file, blank rows, total rows and repeated header lines, generated (issue 19).

Property: revenue per month equals an independent sum over the won rows whose order the lookup file
really gives a date (not a ragged line, not absent); every blank, total and header row is counted with
its line and none becomes a deal; every row whose key found no match is counted.
"""
from __future__ import annotations

import math
import tempfile
import textwrap
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reportgen.config.load import load_config
from reportgen.pipeline.build import compute_for_config

NOW = datetime(2026, 1, 1, tzinfo=UTC)
HEADER = "Id,OrderId,Stage,Amount,Owner"

order = st.fixed_dictionaries({
    "day": st.integers(0, 150),  # close day after 2025-01-01
    "state": st.sampled_from(["ok"] * 6 + ["ragged", "absent"]),
    "encoding_name": st.sampled_from(["Zoë", "Ann", "Bob"]),
})
line = st.fixed_dictionaries({
    "order": st.integers(0, 9),
    "stage": st.sampled_from(["Won", "Won", "Lost"]),
    "amount": st.integers(0, 100_000).map(lambda c: c / 100),
    "owner": st.sampled_from(["ann", "bob"]),
    "noise": st.sampled_from([None] * 8 + ["blank", "total", "Total", "header"]),
})


def write(folder: Path, orders: list[dict], lines: list[dict], encoding: str) -> tuple[dict[str, float], dict]:
    """Write deals.csv and orders.csv; return the expected revenue per month and the expected counts."""
    start = date(2025, 1, 1)
    out = ["order_id,created,closed,customer"]
    for k, o in enumerate(orders):
        closed = start + timedelta(days=o["day"])
        customer = f"{o['encoding_name']}, Ltd" if o["state"] == "ragged" else o["encoding_name"]  # unquoted comma
        if o["state"] != "absent":
            out.append(f"O{k},{start.isoformat()},{closed.isoformat()},{customer}")
    (folder / "orders.csv").write_bytes(("\n".join(out) + "\n").encode(encoding))
    rows = [HEADER]
    expected: dict[str, float] = {}
    counts = {"blank row": 0, "total row": 0, "repeated header line": 0, "unmatched": 0}
    for i, ln in enumerate(lines):
        if ln["noise"] == "blank":
            rows.append(",,,,")
            counts["blank row"] += 1
        elif ln["noise"] == "total":
            rows.append(f",,,{ln['amount']},")
            counts["total row"] += 1
        elif ln["noise"] == "Total":
            rows.append(f"Total,,,{ln['amount']}")  # ragged: four fields of five
            counts["total row"] += 1
        elif ln["noise"] == "header":
            rows.append(HEADER)
            counts["repeated header line"] += 1
        o = orders[ln["order"] % len(orders)]
        rows.append(f"D{i},O{ln['order'] % len(orders)},{ln['stage']},{ln['amount']},{ln['owner']}")
        if o["state"] != "ok":
            counts["unmatched"] += 1
        elif ln["stage"] == "Won":
            month = (start + timedelta(days=o["day"])).strftime("%Y-%m")
            expected[month] = expected.get(month, 0.0) + ln["amount"]
    (folder / "deals.csv").write_text("\n".join(rows) + "\n")
    return expected, counts


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(orders=st.lists(order, min_size=2, max_size=10), lines=st.lists(line, min_size=3, max_size=40),
       encoding=st.sampled_from(["utf-8", "cp1252"]))
def test_revenue_is_the_sum_of_the_rows_that_are_data(tmp_path: Path, orders: list[dict], lines: list[dict],
                                                      encoding: str) -> None:
    orders[0] = {**orders[0], "state": "ok", "day": 0}  # the data's first close
    orders[-1] = {**orders[-1], "state": "ok", "day": 150}  # and its last: the months are covered
    lines += [{"order": 0, "stage": "Won", "amount": 1.0, "owner": "ann", "noise": None},
              {"order": len(orders) - 1, "stage": "Won", "amount": 1.0, "owner": "bob", "noise": None}]
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    expected, counts = write(folder, orders, lines, encoding)
    (folder / "c.yaml").write_text(textwrap.dedent("""\
        scorecard: {as_of: 2025-05-31, allow_partial_period: true, breakdowns: [rep]}
        quality: {max_rejected_share: 1}
        datasets:
          deals:
            path: deals.csv
            columns: {Id: deal_id, Stage: stage, Amount: amount, Owner: rep}
            stages: {won: [Won], lost: [Lost]}
            lookups:
              - {path: orders.csv, column: OrderId, key: order_id,
                  columns: {created: created_date, closed: close_date, customer: customer_id}}
            data_through: 2025-05-31
        kpis: [revenue]
        """))
    metrics = compute_for_config(load_config(folder / "c.yaml"), now=NOW, first="2025-01")
    q = metrics.quality["deals"]
    for label in ("blank row", "total row", "repeated header line"):
        assert q.rows_rejected.get(label, 0) == counts[label], label
    assert sum(q.unmatched.values()) == counts["unmatched"]
    ragged = sum(1 for o in orders if o["state"] == "ragged")
    assert q.lookups[0].rows_rejected.get("ragged line (too few or too many fields)", 0) == ragged
    for month in [f"2025-{m:02d}" for m in range(1, 6)]:
        got = metrics.row("revenue", month)["value"]
        assert not math.isnan(got)
        assert got == pytest.approx(expected.get(month, 0.0), abs=1e-6), month
    segments = set(metrics.breakdown("revenue", "rep", "2025-05")["segment"])
    assert segments <= {"ann", "bob"}, segments  # no "(blank)" rep from a row that is not data
