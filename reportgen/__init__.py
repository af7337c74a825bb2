"""reportgen: sales KPI scorecards from CRM data.

The pipeline reads top to bottom: config -> data -> compute -> charts -> render -> deliver.
"""

__version__ = "0.1.0"
