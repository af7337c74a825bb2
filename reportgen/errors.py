"""One exception family for every error a user can fix.

The CLI prints a ``ReportgenError`` as one line (no traceback) and exits non-zero; anything else is a
bug and shows its traceback.
"""
from __future__ import annotations


class ReportgenError(Exception):
    """An error caused by input the user controls (config, data, environment)."""


class ConfigError(ReportgenError):
    """The YAML config is malformed or refers to something that does not exist."""


class DataError(ReportgenError):
    """A dataset cannot be read or lacks what a KPI needs."""


class RenderError(ReportgenError):
    """A scorecard could not be rendered (template, font, asset)."""


class DeliveryError(ReportgenError):
    """A scorecard could not be delivered (SMTP, size limit, recipients)."""
