"""Layer 2, the config: pydantic models of the YAML file, the marked YAML loader, meaning checks.

Imports only the KPI vocabulary (``reportgen.kpis``) and the base modules."""
