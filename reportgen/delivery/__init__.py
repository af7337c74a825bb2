"""Delivery: turn a rendered scorecard (bytes) into emails, sent exactly once, on schedule.

One module per responsibility; import from them directly:

* ``recipients`` who gets a delivery: ``resolve_recipients`` (inline, CSV file, SQL query)
* ``email``    MIME: ``compose_message``, ``make_address``, ``make_message_id``, ``render_subject``,
               ``check_size``, ``message_size``, ``write_eml``, ``Attachment``
* ``smtp``     transport: ``send_message`` -> ``SendResult``, ``credentials_from_env``
* ``ledger``   exactly-once record: ``Ledger`` (SQLite), its ``journal`` and ``ledger_repair`` (check, rebuild)
* ``sending``  ``send_once`` (claim, send, record)
* ``schedule`` timing: ``due_slots``, ``run_forever`` (which period a run reports on: ``plan``)
* ``plan``     which period, deliveries, recipients and burst groups
* ``deliver``  one delivery and period: ``deliver``, ``send_group`` (one group of recipients)
* ``messages`` subject, segment label, attachments, bodies per locale
* ``due``      scheduled runs: ``run_due`` (one run per period)
* ``sanity``   held before sending: stale data, a condition not met, a PDF that is not a scorecard
* ``groupdata`` a delivery's data read once for all its groups

A run, per recipient: ``compose_message`` (with ``make_message_id``) -> ``send_once``, which
checks the size, claims the ledger row, sends, and records sent / failed / unknown.
"""
