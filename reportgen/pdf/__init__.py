"""WeasyPrint behind a process boundary: HTML in, PDF bytes out, under a time and memory budget.

This layer knows nothing of configs, metrics or templates, so the layout process can be forked before
any of them is imported and bring WeasyPrint up on another core while the build reads its data:
:mod:`.limits` (the layout process, its limits and its warm-up), :mod:`.writer` (the asset fetcher,
the stylesheets parsed once per process, ``write_pdf``), :mod:`.printdoc` (the print HTML taken
apart: charts as in-memory images, ``<style>`` texts apart) and :mod:`.uasheet` (a lean user-agent
stylesheet). Nothing is imported here: importing :mod:`.limits` must stay cheap.
"""
