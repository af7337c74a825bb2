"""Delivery: turn a rendered scorecard (bytes) into emails, sent exactly once, on schedule.

``models`` (config), ``email`` (MIME), ``smtp`` (transport), ``ledger`` (exactly-once record),
``schedule`` (cron slots and periods). Import from the submodules; this package only documents them.
"""
