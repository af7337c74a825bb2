"""One message, exactly once: claim it in the ledger, send it, record what the server said.

The glue between :mod:`.ledger` (what was sent) and :mod:`.smtp` (sending): the claim is committed
before the SMTP conversation, the row becomes stage ``data`` just before the content goes out, and
the outcome (sent, failed with the server's reply, unknown) is recorded and logged.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from email.message import EmailMessage

from reportgen.config.delivery import SmtpSettings
from reportgen.delivery.ledger import ClaimLost, Ledger, LedgerDamaged, LedgerLocked
from reportgen.delivery.smtp import SendResult, send_message
from reportgen.errors import DeliveryError

log = logging.getLogger(__name__)


def send_once(
    ledger: Ledger,
    *,
    delivery: str,
    period: str,
    recipient: str,
    msg: EmailMessage,
    settings: SmtpSettings,
    username: str | None,
    password: str | None,
    sleep: Callable[[float], None] = time.sleep,
) -> SendResult | None:
    """Claim, send, record. Returns ``None`` when the ledger says this email is not to be sent now.

    ``DeliveryError`` from the transport (server unreachable, TLS, login) is recorded as
    ``failed`` and re-raised so the run stops instead of failing every remaining recipient. The row
    becomes stage ``data`` just before the content goes out (see :meth:`Ledger.mark_transmitting`).
    """
    message_id = str(msg["Message-ID"]) if msg["Message-ID"] else None
    if not ledger.claim(delivery, period, recipient, message_id=message_id):
        return None
    try:
        result = send_message(msg, settings, username=username, password=password, sleep=sleep,
                              before_content=lambda: ledger.mark_transmitting(delivery, period, recipient))
    except ClaimLost:
        return None  # another run judged this one dead and took the message over; it sends it
    except (LedgerLocked, LedgerDamaged):
        raise  # the row stays 'connecting': nothing reached the server, the next run sends it
    except DeliveryError as exc:
        ledger.mark_failed(delivery, period, recipient, str(exc))
        raise
    if result.status == "sent" or (result.status == "partial" and recipient in result.accepted):
        ledger.mark_sent(delivery, period, recipient, message_id=message_id)
    elif result.status == "unknown":
        ledger.mark_unknown(delivery, period, recipient, result.error or "outcome unknown")
        log.warning("%s %s %s: outcome unknown: %s", delivery, period, recipient, result.error)
    else:
        ledger.mark_failed(delivery, period, recipient, result.error or result.status)
        log.warning("%s %s %s: not sent: %s", delivery, period, recipient, result.error or result.status)
    return result
