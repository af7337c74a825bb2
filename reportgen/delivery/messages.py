"""What one message carries: its body (drawn once per locale), subject, segment label and attachments."""
from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING

from reportgen.config.delivery import DeliverySpec
from reportgen.config.models import LoadedConfig
from reportgen.delivery.email import (
    Attachment,
    file_name_text,
    render_subject,
)
from reportgen.errors import DeliveryError

if TYPE_CHECKING:
    from reportgen.engine import Metrics
    from reportgen.pipeline.build import BuiltScorecard
    from reportgen.render.email import EmailBody


class BodyCache:
    """One body per locale: charts and tables are drawn once however many readers share a language."""

    def __init__(self, loaded: LoadedConfig, spec: DeliverySpec, metrics: Metrics, segment: str | None) -> None:
        from reportgen.pipeline.build import audiences_of

        self._loaded, self._spec, self._metrics, self._segment = loaded, spec, metrics, segment
        self._audience = audiences_of(loaded, spec.audience)[spec.audience]
        self._bodies: dict[str, EmailBody] = {}

    def get(self, locale: str) -> EmailBody:
        if locale not in self._bodies:
            from reportgen.render.email import render_email_body

            self._bodies[locale] = render_email_body(self._metrics, self._loaded, self._audience, locale=locale,
                                                     segment_label=segment_label(self._spec, self._segment, locale))
        return self._bodies[locale]


class AttachmentCache:
    """The attachments per reader locale: the built files for the scorecard's own locale; for another,
    the PDF and HTML rendered again in the reader's language (once per locale, written beside the built
    files), so a de_DE reader gets a German body and a German PDF."""

    def __init__(self, loaded: LoadedConfig, spec: DeliverySpec, built: BuiltScorecard, metrics: Metrics, *,
                 period: str, now: datetime, segment: str | None) -> None:
        self._loaded, self._spec, self._built, self._metrics = loaded, spec, built, metrics
        self._period, self._now, self._segment = period, now, segment
        self._files: dict[str, list[Attachment]] = {}

    def get(self, locale: str) -> list[Attachment]:
        own = self._loaded.config.scorecard.locale
        key = own if locale == own or not {"pdf", "html"} & set(self._spec.attach) else locale
        if key not in self._files:
            self._files[key] = attachments_for(self._loaded, self._spec, self._built, self._period, self._segment,
                                               self._localized(key) if key != own else None)
        return self._files[key]

    def _localized(self, locale: str) -> BuiltScorecard:
        from dataclasses import replace

        from reportgen.atomic import atomic_write_bytes, atomic_write_text
        from reportgen.pipeline.build import Segment, audiences_of
        from reportgen.render import render_audience

        name = self._spec.audience
        segment = Segment(self._spec.burst_by, self._segment) if self._spec.burst_by and self._segment else None
        rendered = render_audience(self._metrics, self._loaded, name, audiences_of(self._loaded, name)[name],
                                   now=self._now, segment=segment, locale=locale)
        pdf, html = (self._built.pdf.with_name(f"{path.stem}.{locale}{path.suffix}")
                     for path in (self._built.pdf, self._built.html))
        atomic_write_bytes(pdf, rendered.pdf)
        atomic_write_text(html, rendered.html)
        return replace(self._built, pdf=pdf, html=html)


def subject_for(loaded: LoadedConfig, spec: DeliverySpec, period: str, segment: str | None, locale: str) -> str:
    """The delivery's subject template filled in, with the period written in the reader's language."""
    from reportgen.pipeline.build import audiences_of
    from reportgen.render.fmt import format_period

    sc = loaded.config.scorecard
    audience = audiences_of(loaded, spec.audience)[spec.audience]
    return render_subject(spec.subject, title=audience.title or sc.title, period=format_period(period, locale=locale),
                          company=sc.company, segment=segment)


def segment_label(spec: DeliverySpec, segment: str | None, locale: str) -> str:
    """'Region: North' in the reader's language, as the PDF's title shows it."""
    if segment is None or spec.burst_by is None:
        return ""
    from reportgen.render import DIMENSION_LABELS
    from reportgen.render.fmt import translate

    word = DIMENSION_LABELS.get(spec.burst_by, spec.burst_by.capitalize())
    return f"{translate(word, locale)}: {segment}"


def attachments_for(loaded: LoadedConfig, spec: DeliverySpec, built: BuiltScorecard, period: str,
                    segment: str | None = None, localized: BuiltScorecard | None = None) -> list[Attachment]:
    """The ``attach:`` formats as attachments, byte for byte as written to disk (the PDF and HTML from
    ``localized`` when given: the same scorecard in a reader's language, under the same names).

    The files on disk have ASCII-safe names (``Rapport__-3b395007-executive.pdf``); the reader gets the
    real ones (``Rapport März-executive-2025-12.pdf``), carried by RFC 2231 and made safe as file names."""
    files = {"pdf": built.pdf, "html": built.html, "csv": built.csv, "xlsx": built.xlsx}
    if localized is not None:
        files.update(pdf=localized.pdf, html=localized.html)
    stem = "-".join(part for part in (loaded.path.stem, spec.audience, segment, period) if part)
    attachments = []
    for fmt in spec.attach:
        path = files[fmt]
        if path is None:
            raise DeliveryError(f"delivery {spec.name!r} attaches {fmt} but the build wrote none")
        suffix = "-metrics" + path.suffix if path.stem.endswith("-metrics") else path.suffix
        attachments.append(Attachment.for_format(fmt, file_name_text(stem) + suffix, path.read_bytes()))
    return attachments


def eml_name(delivery: str, period: str, recipient: str) -> str:
    """A file name for a dry-run message that sorts by delivery and period and is safe on every OS."""
    return re.sub(r"[^A-Za-z0-9@._-]", "_", f"{delivery}-{period}-{recipient}") + ".eml"
