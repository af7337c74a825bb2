"""The data side of a config: a dataset (its source, mapping, types, lookups, snapshot) and the quality
rules that judge its rows. Kept apart from ``models`` so each module stays one screen of reading."""
from __future__ import annotations

import datetime as dt
from datetime import date
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from reportgen.config.base import ConfigModel
from reportgen.kpis.datasets import StageName


class Lookup(ConfigModel):
    """Join columns from a second file onto a dataset, e.g. a rep's region from a team list.

    A lookup file is read like a dataset (same encodings, formats, ragged-line and row rules, the
    same rejected-row gate with ``file:line`` examples), and a dataset row whose key finds no match
    is counted and shown: a row that silently lost its date would drop out of revenue."""

    path: str = Field(description="File to read (CSV, Excel or Parquet), relative to the config file.")
    column: str = Field(description="Column in the dataset (source name, before mapping) to match. "
                        "(Not called 'on': YAML reads a bare on as true.)")
    key: str | None = Field(default=None, description="Column in the lookup file to match (default: same as 'column').")
    columns: dict[str, str] = Field(
        description="Lookup columns to bring in: source name -> canonical name, or a list of names kept as they are.")
    format: Literal["csv", "excel", "parquet"] | None = Field(
        default=None, description="File format; inferred from the file extension when omitted.")
    sheet: str | int | None = Field(default=None, description="Excel sheet name or index (default: the first).")
    delimiter: str | None = Field(default=None, description="CSV delimiter of the lookup file (default: detected).")
    encoding: str = Field(default="auto", description="Text encoding of the lookup file, as for a dataset "
                          "(auto: UTF-8/UTF-16 when the bytes say so, else the code page that reads the most letters).")

    @field_validator("columns", mode="before")
    @classmethod
    def _list_keeps_names(cls, value: Any) -> Any:
        """``columns: [region, manager]`` brings those columns in under their own names."""
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return {v: v for v in value}
        return value


class Snapshot(ConfigModel):
    """A dataset that is a picture of a state (inventory, headcount, customer status) as of a day, not a
    list of things that happened: it covers the period holding that day, up to that day, and a custom
    measure with ``snapshot: true`` takes a period's value from its last snapshot (a stock, as
    active_customers is)."""

    as_of: dt.date | None = Field(  # dt.date: 'date' is also a field of this model
        default=None, description="One as-of date for the whole file (e.g. 2024-12-31): every row is added the "
        "column named by 'date' holding it. Leave out when a column holds each row's as-of date.")
    date: str = Field(
        default="snapshot_date", description="Column holding each row's as-of date (several snapshots in one "
        "file); with as_of, the name of the column that holds it (default snapshot_date).")


class Dataset(ConfigModel):
    """Where one dataset lives and how its columns map onto the canonical ones."""

    path: str | None = Field(default=None, description="File path (CSV, Excel, Parquet), relative to the config file.")
    format: Literal["csv", "excel", "parquet", "sql"] | None = Field(
        default=None, description="Source format; inferred from the file extension or 'url' when omitted.")
    delimiter: str | None = Field(default=None, description="CSV field delimiter (default: detected from the file).")
    encoding: str = Field(
        default="auto",
        description="CSV text encoding: any Python codec name (utf-8, cp1252, cp850, latin-1, mac_roman, "
        "utf-16...), or auto: UTF-8/UTF-16 when the bytes say so, else the 8-bit code page that reads the most "
        "letters.",
    )
    decimal: Literal[".", ","] | None = Field(
        default=None,
        description="Decimal mark of numbers written as text (default: settled from the values; when they "
        "allow both readings, as 100.000 does, reportgen asks for it).")
    thousands: str | None = Field(
        default=None, description="Thousands separator of numbers written as text (default: the other mark of decimal; "
        "spaces, no-break spaces and apostrophes are always accepted as separators).")
    sheet: str | int | None = Field(default=None, description="Excel sheet name or index (default: the first).")
    url: str | None = Field(default=None, description="SQLAlchemy URL of a SQL database, e.g. sqlite:///crm.db. "
                            "Use ${ENV_VAR} for secrets; they are expanded at run time.")
    table: str | None = Field(default=None, description="Table to read from the SQL database.")
    query: str | None = Field(default=None, description="SQL query to read instead of a table.")
    columns: dict[str, str | list[str]] = Field(
        default_factory=dict,
        description="Column mapping: the source's column name -> the canonical name (e.g. engage_date: created_date); "
        "a list maps one source column to several canonical ones.")
    constants: dict[str, date | bool | int | float | str | None] = Field(
        default_factory=dict,
        description="Canonical columns the source lacks, filled with one value (e.g. stage: won for an order list; "
        "a date, a number, text or null).")
    types: dict[str, Literal["number", "date", "timestamp", "text"]] = Field(
        default_factory=dict,
        description="Types of columns beyond the canonical ones (name -> number, date, timestamp or text), on any "
        "dataset: a column listed here is kept with that type (an extra 'impressions' on spend, summed by a custom "
        "measure). A custom dataset's columns not listed are detected from their values (ids stay text).")
    computed: dict[str, str] = Field(
        default_factory=dict,
        description="Columns computed from source columns, name -> expression with + - * / and numbers (e.g. "
        "amount: unit_price * quantity * (1 - discount)); each source column it reads is read as a number.")
    data_through: date | None = Field(
        default=None,
        description="The last day the export covers (default: the latest date in any of its date columns). "
        "KPIs for periods after it are missing, never 0.")
    order_lines: bool = Field(
        default=False, description="Deals only: each row is one line of an order and deal_id holds the order number; "
        "lines are summed into one deal per order (amount, profit) before any KPI.")
    stages: dict[StageName, list[str]] | None = Field(
        default=None, description="Deals only: raw stage values for won, lost and open. An unmapped value is an error.")
    values: dict[str, dict[str, list[str]]] = Field(
        default_factory=dict,
        description="Value mapping for category columns: column -> canonical value -> raw values.")
    date_formats: dict[str, str] = Field(
        default_factory=dict,
        description="strptime formats per canonical date column (e.g. close_date: '%m/%d/%Y'); ISO is the default "
        "and M/D/Y vs D/M/Y is detected when unambiguous.")
    lookups: list[Lookup] = Field(default_factory=list, description="Columns joined in from other files.")
    max_age: float | None = Field(
        default=None, gt=0,
        description="Freshness, in days: a delivery is held (nothing mailed, one line) when this dataset's file was "
        "last modified longer ago than this at the run's time; builds are unaffected. Files only.")
    currency: str | None = Field(
        default=None, description="ISO 4217 code of this dataset's money columns. When it differs from "
        "scorecard.currency, or a 'currency' column is mapped holding several codes, the amounts are converted with "
        "the fx_rates dataset (date, currency, rate) or the build stops listing the currencies.")
    pushdown: bool | None = Field(
        default=None,
        description="SQL datasets only: build the canonical table and compute every KPI inside the database, "
        "so only aggregated rows travel (default: on for PostgreSQL; false reads every row locally).")
    snapshot: Snapshot | None = Field(
        default=None, description="Custom datasets only: the file is a snapshot as of a day ({as_of: 2024-12-31}) "
        "or holds several, each row's as-of date in a column ({date: snapshot_date}). It covers the periods "
        "holding its as-of dates, each up to that day; a period without one is missing, never 0.")

    @model_validator(mode="after")
    def _one_source(self) -> Dataset:
        if not self.path and not self.url:
            raise ValueError("a dataset needs 'path' (a file) or 'url' (a SQL database)")
        if self.url and not (self.table or self.query):
            raise ValueError("a SQL dataset needs 'table' or 'query'")
        if self.max_age is not None and not self.path:
            raise ValueError("max_age reads a file's modification time; a SQL dataset has none (remove max_age)")
        return self


class Quality(ConfigModel):
    """Row rules and how much unusable data a scorecard tolerates before it refuses to build."""

    max_rejected_share: float = Field(
        default=0.01, ge=0, le=1,
        description="Largest share of a dataset's rows that may be unreadable or rejected by a "
        "rule before validate and build fail (default 1%).")
    duplicate_ids: Literal["reject", "keep"] = Field(
        default="reject",
        description="A second row with the same id (deal_id, lead_id, ...): rejected and counted, or kept.")
    negative_amounts: Literal["reject", "keep"] = Field(
        default="reject",
        description="A won deal with a negative amount: rejected and counted, or kept (credit notes).")
    close_before_create: Literal["reject", "keep"] = Field(
        default="reject", description="A closed deal whose close_date is before its created_date.")
    future_dates: Literal["reject", "keep"] = Field(
        default="reject", description="A row dated more than future_days after the run date (a typo such as 2205).")
    future_days: int = Field(default=366, ge=0, description="How far after the run date a date may lie.")
    blank_rows: Literal["reject", "keep"] = Field(
        default="reject", description="A row with no value in any column the dataset reads (a line of commas): "
        "left out and counted with its line, or kept (its missing values are then counted).")
    total_rows: Literal["reject", "keep"] = Field(
        default="reject", description="A total or summary row (a first cell such as 'Total', or every required value "
        "empty but an amount): left out and counted with its line, or kept as data.")
    repeated_headers: Literal["reject", "keep"] = Field(
        default="reject", description="The header line repeated mid-file (exports concatenated): left out and "
        "counted with its line, or kept as data.")
