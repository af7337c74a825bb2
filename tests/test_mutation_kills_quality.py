"""The rejected-share gate and the unreadable-column gate on quality records built by hand: the
survivors of the mutation run over reportgen.data.quality (scripts/mutation.sh quality,
docs/mutation.md).

test_gates meets the gates through the CLI and the API with one dataset and unreadable amounts; these
cover what those cannot reach cheaply: rows lost to a lookup, an empty file, rows that are not data
(a total row), several datasets in one check, and when the ``order_lines`` hint is given. Expected
values from the rule (README "Data quality", kpi-spec "Coverage"): a dataset may lose at most
``max_rejected_share`` of the rows it read, counting every row that was data and cannot be used.
"""
from __future__ import annotations

from datetime import date

import pytest

from reportgen.data import DatasetQuality, check_quality
from reportgen.data.quality import gate_lines
from reportgen.errors import DataError

ORDER_LINES_HINT = "set order_lines: true"


def _record(name: str = "deals", *, rows_read: int = 100, rejected: dict[str, int] | None = None,
            **more: object) -> DatasetQuality:
    return DatasetQuality(name=name, source=f"{name}.csv", rows_read=rows_read, rows_rejected=rejected or {},
                          first_date=date(2025, 1, 1), last_date=date(2025, 12, 31), missing_values={},
                          **more)  # type: ignore[arg-type]


def test_rows_without_a_required_lookup_match_count_against_the_share() -> None:
    """5 of 100 rows lost their region to the lookup and nothing else: 5% cannot be used."""
    [line] = gate_lines([_record(unmatched_required=5)], 0.01)
    assert line == ("dataset 'deals' (deals.csv): 5 of 100 rows (5.0%) cannot be used, over the 1% allowed "
                    "(quality.max_rejected_share): 5 without a lookup match for a required column")
    assert gate_lines([_record(unmatched_required=5)], 0.05) == []
    both = gate_lines([_record(rejected={"unreadable amount": 1}, unmatched_required=1)], 0.01)
    assert both[0].startswith("dataset 'deals' (deals.csv): 2 of 100 rows (2.0%) cannot be used")
    assert both[0].endswith(": 1 unreadable amount, 1 without a lookup match for a required column")


def test_an_empty_file_is_not_stopped_by_the_share_gate() -> None:
    """No rows read: nothing was lost (the KPIs show missing with the reason 'has no dated rows')."""
    assert gate_lines([_record(rows_read=0)], 0.0) == []
    check_quality({"deals": _record(rows_read=0)}, 0.01)  # no error


def test_rows_that_are_not_data_do_not_count_against_the_share() -> None:
    """A total row and blank rows carry no deal; a won deal without a close date is still counted
    in the deal totals (it only lacks a month). One unreadable amount in 100 rows is the 1% allowed."""
    record = _record(rejected={"total row": 3, "blank row": 2, "won/lost without close_date": 4,
                               "unreadable amount": 1})
    assert record.total_rejected == 1
    assert gate_lines([record], 0.01) == []


def test_every_dataset_and_lookup_is_checked_after_one_with_an_unreadable_column() -> None:
    unreadable = _record("deals", rejected={"unreadable amount": 3}, unreadable_columns=("amount",),
                         examples=("deals.csv:2: a", "deals.csv:3: b", "deals.csv:4: c", "deals.csv:5: d"))
    regions = _record("leads lookup", rows_read=10, rejected={"ragged line (too few or too many fields)": 2},
                      examples=("regions.csv:4: ragged",))
    leads = _record("leads", rejected={"unreadable created_date": 2}, lookups=(regions,))
    lines = gate_lines([unreadable, leads], 0.01)
    assert lines[:2] == ["dataset 'deals' (deals.csv): no value of column 'amount' can be read; "
                         "check the column mapping and the number/date settings", "deals.csv:2: a"]
    # (how many example rows follow the headline is a presentation choice no document fixes)
    headlines = [line for line in lines if not line.startswith(("deals.csv:", "regions.csv:"))]
    assert len(headlines) == 3
    assert headlines[1].startswith("dataset 'leads' (leads.csv): 2 of 100 rows (2.0%) cannot be used")
    assert headlines[2].startswith("lookup leads lookup.csv of dataset 'leads': 2 of 10 rows (20.0%) cannot be used")
    assert lines[-1] == "regions.csv:4: ragged"
    with pytest.raises(DataError) as refused:
        check_quality({"deals": unreadable, "leads": leads}, 0.01)
    assert str(refused.value).splitlines() == lines


def test_the_order_lines_hint_only_when_duplicates_explain_the_loss() -> None:
    """Duplicate deal ids are the usual sign of an export with one row per order line; when they are
    a minority of the lost rows, the setting would not fix the gate and is not suggested."""
    mostly = gate_lines([_record(rejected={"duplicate deal_id": 3, "unreadable amount": 1})], 0.01)
    assert ORDER_LINES_HINT in mostly[0]
    minority = gate_lines([_record(rejected={"duplicate deal_id": 1, "unreadable amount": 2})], 0.01)
    assert minority[0].endswith(": 1 duplicate deal_id, 2 unreadable amount")
    none = gate_lines([_record(rejected={"unreadable amount": 2})], 0.01)
    assert ORDER_LINES_HINT not in none[0]


def test_an_unreadable_column_lists_its_example_rows_as_the_share_gate_does() -> None:
    """The headline, then every example row the record kept (the loader keeps at most 5), as under the
    share gate's headline: a reader fixing a column sees the same number of rows either way."""
    examples = tuple(f"deals.csv:{n}: column 'amount': cannot read 'x' as a number" for n in range(2, 7))
    lines = gate_lines([_record(unreadable_columns=("amount",), examples=examples)], 0.01)
    assert lines[0].startswith("dataset 'deals' (deals.csv): no value of column 'amount' can be read")
    assert lines[1:] == list(examples)


def test_the_order_lines_hint_comes_when_duplicates_are_half_the_lost_rows() -> None:
    [half] = gate_lines([_record(rejected={"duplicate deal_id": 5, "unreadable amount": 5})], 0.01)
    assert ORDER_LINES_HINT in half
    [less] = gate_lines([_record(rejected={"duplicate deal_id": 4, "unreadable amount": 5})], 0.01)
    assert ORDER_LINES_HINT not in less


def test_no_order_lines_hint_without_duplicate_ids() -> None:
    """Two unreadable amounts in a small file, and no duplicate id: nothing suggests order lines."""
    [line] = gate_lines([_record(rows_read=10, rejected={"unreadable amount": 2})], 0.01)
    assert "2 unreadable amount" in line and ORDER_LINES_HINT not in line
