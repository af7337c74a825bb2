"""The data layer: read the user's datasets as they come out of their CRM into canonical DuckDB tables.

Every source (CSV, Excel, Parquet, SQL database) becomes one table per dataset with the canonical
column names and types of the KPI reference, so the engine's SQL never sees a user's naming. A value
that cannot be read is NULL and counted, a row a rule rejects is left out and counted, and too much of
either stops the build (``quality.py``).
"""
from __future__ import annotations

from reportgen.data.load import connect, load_canonical_folder, load_dataset, load_datasets
from reportgen.data.loaded import LoadedData
from reportgen.data.mapping import mapping_of
from reportgen.data.quality import DatasetQuality, check_quality
from reportgen.data.segment import restrict_to_segment, segment_values
from reportgen.data.sources import describe_source, source_format

__all__ = [
    "DatasetQuality", "LoadedData", "check_quality", "connect", "describe_source",
    "load_canonical_folder", "load_dataset", "load_datasets", "mapping_of", "restrict_to_segment",
    "segment_values", "source_format",
]
