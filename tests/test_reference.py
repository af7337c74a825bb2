"""The in-repo KPI reference is generated from the catalogue and must be current."""
from __future__ import annotations

from pathlib import Path

from reportgen.kpis.catalogue import BUILTIN_KPIS
from reportgen.kpis.reference import kpi_reference


def test_docs_kpis_md_is_current(repo_root: Path) -> None:
    on_disk = (repo_root / "docs" / "kpis.md").read_text(encoding="utf-8")
    assert on_disk == kpi_reference(), "docs/kpis.md is stale: run python -m reportgen.kpis.reference > docs/kpis.md"


def test_every_builtin_kpi_is_in_the_reference() -> None:
    text = kpi_reference()
    missing = [k for k in BUILTIN_KPIS if f"| `{k}` |" not in text]
    assert not missing
