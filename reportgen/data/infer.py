"""What each raw export *is*: its canonical dataset, column mapping, stage mapping, order lines and lookups.

``reportgen init`` reads exports nobody shaped for reportgen. Each file is profiled by the loader's own
reading (:mod:`reportgen.data.profile`); here its columns are matched onto the canonical data model
(``kpis.datasets``) by header words *and* by values (a date mapping needs a column that reads as dates,
a stage mapping a column whose values say won/lost/open), each file is scored against each canonical
dataset, and every canonical dataset goes to the file that fits it best. A file that fits none keeps its
columns as a custom dataset with a count (and a sum) KPI; a file without dates whose key matches a
placed dataset's column becomes a lookup; what cannot be placed is said, never guessed silently.
Every decision carries a confidence and a reason so the user sees what to check.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from reportgen.data.mapping import ROW_NUMBER
from reportgen.data.profile import ColumnProfile, FileProfile
from reportgen.data.vocabulary import (
    CURRENCY_MARKS,
    DIMENSION_WORDS,
    DIMENSIONS,
    FILE_HINTS,
    ORDER_WORDS,
    PLACEABLE,
    STAGE_WORDS,
    SYNONYMS,
)
from reportgen.kpis.catalogue import CANONICAL_DATASETS, ColumnSpec
from reportgen.kpis.datasets import STAGES


@dataclass(frozen=True)
class Guess:
    """One decision ``init`` made, how sure it is and why."""

    file: str
    what: str
    confidence: str  # high | medium | low
    why: str


@dataclass
class DatasetGuess:
    """What one export became in the config."""

    name: str
    profile: FileProfile
    canonical: bool
    columns: dict[str, list[str]] = field(default_factory=dict)  # source column -> canonical names
    stages: dict[str, list[str]] | None = None
    constants: dict[str, Any] = field(default_factory=dict)
    order_lines: bool = False
    decimal: str | None = None
    date_formats: dict[str, str] = field(default_factory=dict)
    lookups: list[dict[str, Any]] = field(default_factory=list)
    score: float = 0.0
    guesses: list[Guess] = field(default_factory=list)

    def mapped(self) -> dict[str, str]:
        """canonical -> source."""
        return {c: s for s, cs in self.columns.items() for c in cs}


@dataclass
class Inference:
    """Every export placed (or not), with what was guessed."""

    datasets: list[DatasetGuess]
    unplaced: list[tuple[FileProfile, str]]
    currency: tuple[str, str, str]  # code, confidence, why
    breakdowns: list[str]


def words(name: str) -> str:
    """A header as words: ``closeValue`` / ``CLOSE_VALUE`` / ``Close Value `` -> ``close value``."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name)
    return " ".join(re.findall(r"[a-z0-9]+", spaced.lower()))


def snake(name: str) -> str:
    return "_".join(words(name).split()) or "column"


def name_score(header: str, canon: str) -> float:
    """1 for an exact synonym, less for a synonym inside the header (longer phrases weigh more), else 0."""
    h = words(header)
    best = 0.0
    for phrase in (words(canon), *SYNONYMS.get(canon, ())):
        if h == phrase or h.replace(" ", "") == phrase.replace(" ", ""):
            return 1.0
        if re.search(rf"\b{re.escape(phrase)}\b", h):  # the last word names the thing: Account Owner Territory
            tail = 0.15 if h.endswith(" " + phrase) else 0.0
            best = max(best, min(0.9, 0.55 + 0.1 * len(phrase.split()) + tail))
    return best


def stage_of(value: str) -> str | None:
    """won / lost / open from the words of a raw stage value, None when no word says."""
    tokens = words(value).split()
    joined = "".join(tokens)
    for stage in STAGES:  # "Closed Won" is won before "closed" could say anything
        if any(w in tokens or (len(w) > 6 and w in joined) for w in STAGE_WORDS[stage]):
            return stage
    return None


def stage_mapping(col: ColumnProfile) -> tuple[dict[str, list[str]], list[str]] | None:
    """The stage mapping of a stage-like column (values, not the header, decide), with the values
    no word placed; None when the column is not stage-like."""
    if col.kind != "text" or not col.category:
        return None
    mapping: dict[str, list[str]] = {"won": [], "lost": [], "open": []}
    unknown: list[str] = []
    for v in col.values:
        stage = stage_of(v)
        (mapping[stage] if stage else unknown).append(v)
    if not (mapping["won"] or mapping["lost"]) or len(unknown) * 2 > len(col.values):
        return None
    mapping["open"] += unknown  # still in the pipeline until the export says otherwise; printed as a guess
    return mapping, unknown


def _fits(col: ColumnProfile, ctype: str) -> bool:
    if ctype in ("date", "timestamp"):
        return col.kind == "date" and col.date_style is not None
    if ctype == "number":
        return col.kind == "number"
    if ctype == "id":
        return col.kind in ("text", "number")
    return col.kind == "text"


def match_dataset(profile: FileProfile, name: str) -> DatasetGuess | None:
    """Map ``profile`` onto canonical dataset ``name``; None when a required column cannot be had."""
    specs = {s.name: s for s in CANONICAL_DATASETS[name]}
    for dim in DIMENSIONS:  # a breakdown column is worth mapping in any dataset (leads by region)
        specs.setdefault(dim, ColumnSpec(dim, "text"))
    file = profile.path.name
    hinted = any(h in profile.path.stem.lower() for h in FILE_HINTS.get(name, ()))
    guess = DatasetGuess(name, profile, True)
    pairs = []
    for col in profile.columns:
        for spec in specs.values():
            if not _fits(col, spec.type):
                continue
            score = name_score(col.name, spec.name)
            if spec.type == "text" and not col.category:
                score *= 0.5  # a breakdown needs few values: Product Name loses to Category
            if spec.name == "stage":
                score = 0.95 if stage_mapping(col) else 0.0
            elif spec.type == "category":
                score = score if set(v.lower() for v in col.values) <= set(spec.values) else 0.0
            if score > 0:
                pairs.append((score, spec.required, col.name, spec.name))
    used: set[str] = set()
    for score, _req, src, canon in sorted(pairs, key=lambda p: (-p[0], not p[1])):
        if src in used or canon in guess.mapped():
            continue
        used.add(src)
        guess.columns.setdefault(src, []).append(canon)
        guess.score += score * (2 if specs[canon].required else 1)
        conf = "high" if score >= 0.9 else "medium" if score >= 0.6 else "low"
        guess.guesses.append(Guess(file, f"{name}.{canon} <- {src!r}", conf, "header and values" if score >= 0.9
                                   else "header words" if score >= 0.6 else "values"))
    dates = [c for c in profile.columns if _fits(c, "date") and c.name not in used]
    for spec in specs.values():  # a required date nothing named: the one date column left, if there is one
        if spec.required and spec.type in ("date", "timestamp") and spec.name not in guess.mapped():
            if name == "deals" and "close_date" in guess.mapped():
                src = guess.mapped()["close_date"]
                why = "the only date of a closed deal"
            elif len(dates) == 1 and hinted:
                src, why = dates.pop().name, "the one date column left"
            else:
                return None
            guess.columns.setdefault(src, []).append(spec.name)
            guess.guesses.append(Guess(file, f"{name}.{spec.name} <- {src!r}", "low", why))
    if name == "deals" and "created_date" in guess.mapped() and "close_date" not in guess.mapped():
        src = guess.mapped()["created_date"]  # an order list: an order is created and closed on its date
        guess.columns[src].append("close_date")
        guess.guesses.append(Guess(file, f"deals.close_date <- {src!r}", "medium", "one date per order"))
    if not _complete(profile, guess, specs, hinted):
        return None
    _order_lines(profile, guess)
    _styles(profile, guess)
    return guess


def _complete(profile: FileProfile, guess: DatasetGuess, specs: dict[str, Any], hinted: bool) -> bool:
    """Fill what a required column can honestly be filled with; False when something required is lacking."""
    file, mapped = profile.path.name, guess.mapped()
    for spec in specs.values():
        if not spec.required or spec.name in mapped:
            continue
        if spec.type == "id" and spec.name.endswith("_id") and spec.name != "customer_id" and hinted:
            guess.columns[ROW_NUMBER] = [spec.name]
            guess.guesses.append(Guess(file, f"{guess.name}.{spec.name} <- row number", "medium",
                                       "no id column: each row is one record"))
        elif spec.name == "stage":
            text = " ".join([profile.path.stem, *(c.name for c in profile.columns)]).lower()
            if not any(w in text for w in ORDER_WORDS):
                return False
            guess.constants["stage"] = "won"
            guess.guesses.append(Guess(file, "deals.stage = won (every row)", "medium",
                                       "no stage column and the file is an order list"))
        elif spec.name == "category" and guess.name == "spend" and (
                hinted or "spend" in words(mapped.get("amount", ""))):
            guess.constants["category"] = "marketing"
            guess.guesses.append(Guess(file, "spend.category = marketing (every row)", "low",
                                       "no marketing/sales column"))
        else:
            return False
    if guess.name == "deals" and "stage" in guess.mapped():
        col = profile.column(guess.mapped()["stage"])
        found = stage_mapping(col)
        assert found is not None
        guess.stages, unknown = found
        for v in unknown:
            guess.guesses.append(Guess(file, f"stage {v!r} -> open", "low", "no won/lost/open word in it"))
        guess.guesses.append(Guess(file, "stages " + "; ".join(f"{k}: {', '.join(v) or '-'}"
                                                              for k, v in guess.stages.items()),
                                   "high" if not unknown else "medium", "from the distinct values"))
    return True


def _order_lines(profile: FileProfile, guess: DatasetGuess) -> None:
    """A deal id that repeats while amounts vary by line: the rows are order lines, summed per order."""
    if guess.name != "deals" or "deal_id" not in guess.mapped() or guess.mapped()["deal_id"] == ROW_NUMBER:
        return
    col = profile.column(guess.mapped()["deal_id"])
    if col.distinct < col.filled:
        guess.order_lines = True
        guess.guesses.append(Guess(profile.path.name, "order_lines: true", "high",
                                   f"{col.name!r} repeats ({col.filled} rows, {col.distinct} ids)"))


def _styles(profile: FileProfile, guess: DatasetGuess) -> None:
    """The decimal mark (one per dataset) and the date formats the values settled."""
    read = {s for s in guess.columns if s != ROW_NUMBER}
    numbers = [c for c in profile.columns if c.kind == "number" and (c.name in read or not guess.canonical)]
    marks = {c.number_style.decimal for c in numbers if c.number_style}
    if "," in marks:
        guess.decimal = ","
        guess.guesses.append(Guess(profile.path.name, "decimal: ','", "high" if marks == {","} else "low",
                                   "numbers written with a decimal comma"))
    for src, canons in guess.columns.items():
        col = profile.column(src) if src != ROW_NUMBER else None
        if col and col.kind == "date" and col.date_style and col.date_style.kind == "formats" \
                and len(col.date_style.formats) == 1:
            for canon in canons:
                guess.date_formats[canon] = col.date_style.formats[0]


def custom_dataset(profile: FileProfile, taken: set[str]) -> DatasetGuess | None:
    """A file with dates that fits no free canonical dataset: kept whole, its date and amount renamed,
    its dimensions named canonically so breakdowns reach it. None without a readable date."""
    dates = [c for c in profile.columns if _fits(c, "date")]
    if not dates:
        return None
    name = snake(profile.path.stem)
    while name in taken or name in CANONICAL_DATASETS:
        name += "_x"
    guess = DatasetGuess(name, profile, False)
    for col in dates:
        guess.columns[col.name] = [snake(col.name)]
    for col in profile.columns:
        if col.kind == "number" and any(w in words(col.name) for w in ("amount", "value", "revenue", "sales", "spend",
                                                                       "cost", "price", "bookings")):
            guess.columns[col.name] = [snake(col.name)]
        elif col.category:
            for dim in ("region", "source", "rep", "product"):
                if name_score(col.name, dim) >= 0.6 and dim not in guess.mapped():
                    guess.columns[col.name] = [dim]
                    break
    guess.guesses.append(Guess(profile.path.name, f"custom dataset {name!r}", "medium",
                               "fits no free canonical dataset; a count KPI on its date " + repr(dates[0].name)))
    _styles(profile, guess)
    return guess


def lookup_for(profile: FileProfile, placed: list[DatasetGuess]) -> tuple[DatasetGuess, dict[str, Any]] | None:
    """A dimension table (no dates): its key column matches a placed dataset's column by name and covers
    its values; it brings in region/rep/product/source the dataset lacks (and its other short categories)."""
    for guess in placed:
        source_cols = {c.name: c for c in guess.profile.columns}
        for key in profile.columns:
            if key.name not in source_cols or not key.unique:
                continue
            values = set(source_cols[key.name].values)
            if not values or len(values & set(key.values)) < 0.9 * len(values):
                continue
            brings: dict[str, str] = {}
            mapped = guess.mapped()
            for col in profile.columns:
                if col is key or not col.category:
                    continue
                dim = next((d for d in ("region", "rep", "product", "source")
                            if d not in mapped and d not in brings.values() and name_score(col.name, d) >= 0.6), None)
                if dim:
                    brings[col.name] = dim
                elif any(w in words(col.name) for w in DIMENSION_WORDS):
                    brings[col.name] = snake(col.name)
            if any(v in ("region", "rep", "product", "source") for v in brings.values()):
                return guess, {"path": profile.path, "column": key.name, "columns": brings}
    return None


def infer(profiles: list[FileProfile]) -> Inference:
    """Place every file: canonical datasets to the best-fitting file, then custom datasets, then lookups."""
    tables = [p for p in profiles if not p.problem]
    unplaced = [(p, p.problem) for p in profiles if p.problem]
    candidates = []
    for p in tables:
        for name in PLACEABLE:
            g = match_dataset(p, name)
            if g:
                hint = any(h in p.path.stem.lower() for h in FILE_HINTS.get(name, ()))
                g.score += 1.5 if hint else 0
                candidates.append(g)
    placed: list[DatasetGuess] = []
    for g in sorted(candidates, key=lambda g: -g.score):
        if all(g.name != d.name and g.profile is not d.profile for d in placed):
            placed.append(g)
    for p in tables:
        if any(d.profile is p for d in placed):
            continue
        custom = custom_dataset(p, {d.name for d in placed})
        if custom:
            placed.append(custom)
            continue
        found = lookup_for(p, placed)
        if found:
            target, lookup = found
            target.lookups.append(lookup)
            target.guesses.append(Guess(p.path.name, f"lookup on {target.name}.{lookup['column']}: "
                                        + ", ".join(f"{k} -> {v}" for k, v in lookup["columns"].items()),
                                        "medium", "key matches by name and values"))
            continue
        open_dates = [c.note.removeprefix("dataset 'export': ") for c in p.columns if c.kind == "date" and c.note]
        unplaced.append((p, open_dates[0] if open_dates else
                         "no date column: its rows cannot be placed in a period, and no dataset has its key"))
    return Inference(placed, unplaced, currency_of(placed), breakdowns_of(placed))


def currency_of(placed: list[DatasetGuess]) -> tuple[str, str, str]:
    for g in placed:
        for col in g.profile.columns:
            if "currency" in words(col.name) and col.distinct == 1 and re.fullmatch(r"[A-Z]{3}", col.values[0]):
                return col.values[0], "high", f"{g.profile.path.name}: {col.name!r}"
    for g in placed:
        for src, canons in g.columns.items():
            if src != ROW_NUMBER and set(canons) & {"amount", "mrr"}:
                for mark, code in CURRENCY_MARKS.items():
                    if any(mark in v for v in g.profile.column(src).values[:200]):
                        return code, "medium", f"{g.profile.path.name}: {mark!r} in {src!r}"
    return "USD", "low", "no currency column or mark; USD assumed"


def breakdowns_of(placed: list[DatasetGuess]) -> list[str]:
    """Canonical dimensions any dataset maps, then the short categories named like a dimension."""
    found: list[str] = []
    for g in placed:
        for dim in ("region", "rep", "product", "source"):
            if (dim in g.mapped() or any(dim in lk["columns"].values() for lk in g.lookups)) and dim not in found:
                found.append(dim)
    for g in placed:
        if not g.canonical:
            continue
        for col in g.profile.columns:
            if col.name not in g.columns and col.category and 2 <= col.distinct <= 12 \
                    and any(w in words(col.name) for w in DIMENSION_WORDS):
                g.columns[col.name] = [snake(col.name)]
                found.append(snake(col.name))
        for lk in g.lookups:
            found += [v for v in lk["columns"].values() if v not in found]
    return found
