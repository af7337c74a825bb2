"""Layer 1, the KPI vocabulary: the catalogue (datasets, anchors, measures, built-in KPIs), the formula
language and periods. Pure definitions: no I/O, no pandas at import."""
