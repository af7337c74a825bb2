"""The email body tells the whole story (reportgen.render.email), read back from the real SMTP server
process the tests start: every KPI of the audience as one line, bad and warning first, the "what
changed" lines, numbers as the PDF shows them, a sign never split from its number, and the attached PDF
in the reader's language.

The statuses the order is checked against come from the engine's metric table, not from the email code.
"""
from __future__ import annotations

import email
import email.policy
import io
import re
import textwrap
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import click.testing
import pdfplumber
import pytest

import reportgen.cli.delivery  # noqa: F401 - registers the delivery commands on the CLI group
from reportgen.cli.app import main
from reportgen.config.load import load_config
from reportgen.pipeline.build import compute_for_config
from reportgen.render.fmt import translate
from tests.fixtures.smtp import SmtpServerHandle
from tests.shared import needs_shared

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples" / "data"
NOW = "2026-01-01T07:00+01:00"
# churn (bad in December 2025) last: the old body showed the first six KPIs and hid it
KPIS = ["revenue", "deals_won", "win_rate", "average_deal_size", "pipeline_value", "new_customers",
        "sales_cycle_days", "leads_created", "churn_rate"]
STATUS_RANK = {"bad": 0, "warning": 1}


def config_text(port: int) -> str:
    return textwrap.dedent(f"""\
        scorecard:
          title: Sales Pulse
          company: Acme
          as_of: 2025-12-31
          history: 6
          forecast_periods: 0
          breakdowns: [region]
          output_dir: out
          allowed_roots: ["{SAMPLES}"]
        datasets:
          deals: {{path: {SAMPLES / "deals.csv"}}}
          leads: {{path: {SAMPLES / "leads.csv"}}}
          subscriptions: {{path: {SAMPLES / "subscriptions.csv"}}}
          targets: {{path: {SAMPLES / "targets.csv"}}}
        kpis: [{", ".join(KPIS)}]
        audiences:
          executive: {{template: executive}}
        smtp: {{host: 127.0.0.1, port: {port}, security: none, from_address: reports@example.com, retries: 0}}
        deliveries:
          - name: monthly
            audience: executive
            schedule: "0 7 1 * *"
            timezone: Europe/Berlin
            attach: [pdf]
            recipients:
              - {{email: ceo@example.com}}
              - {{email: cfo@example.com, locale: de_DE}}
        """)


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def pdf_text(data: bytes) -> str:
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return "\n".join(page.extract_text() or "" for page in pdf.pages)


@pytest.fixture(scope="module")
def received(tmp_path_factory: pytest.TempPathFactory, _smtp_process: SmtpServerHandle) -> dict[str, EmailMessage]:
    """One send to the real SMTP server process (its mailbox emptied first), read back once for all tests."""
    smtp_server = _smtp_process
    smtp_server.reset()
    folder = tmp_path_factory.mktemp("mail")
    config = folder / "pulse.yaml"
    config.write_text(config_text(smtp_server.port))
    smtp_server.configure()
    result = click.testing.CliRunner().invoke(main, ["send", str(config), "--now", NOW], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return {m.rcpt_tos[0]: parse(m.data) for m in smtp_server.messages()}


@pytest.fixture(scope="module")
def statuses() -> dict[str, str]:
    """Each KPI's December status, from the engine's metric table."""
    loaded = load_config(REPO / "configs" / "example.yaml")
    metrics = compute_for_config(loaded, now=datetime(2026, 1, 1, 6, tzinfo=UTC))
    return {k: str(metrics.row(k, "2025-12")["status"] or "") for k in KPIS}


def normal(text: str) -> str:
    """Text compared across the bodies and the PDF: one minus, no word joiners, single spaces."""
    return " ".join(text.replace("\u2060", "").replace("\u2212", "-").split())


def kpi_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("- ")]


@pytest.mark.parametrize(("recipient", "locale"), [("ceo@example.com", "en_US"), ("cfo@example.com", "de_DE")])
def test_the_body_lists_every_kpi_bad_and_warning_first(received: dict[str, EmailMessage], statuses: dict[str, str],
                                                        recipient: str, locale: str) -> None:
    from reportgen.engine.resolve import resolve_kpis

    names = {k: translate(v.name, locale) for k, v in resolve_kpis(None).items() if k in KPIS}
    msg = received[recipient]
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    lines = kpi_lines(text)
    shown = [next(k for k in KPIS if line.startswith(f"- {names[k]}: ")) for line in lines]
    assert sorted(shown) == sorted(KPIS)  # every KPI, once each
    assert "bad" in statuses.values(), "the sample data no longer has a bad KPI to put first"
    ranks = [STATUS_RANK.get(statuses[k], 2) for k in shown]
    assert ranks == sorted(ranks), list(zip(shown, ranks, strict=True))
    # the rest keep the audience's order
    assert [k for k in shown if statuses[k] not in STATUS_RANK] == [k for k in KPIS if statuses[k] not in STATUS_RANK]
    assert all(html.count(f">{names[k]}</td>") == 1 for k in KPIS)
    positions = [html.index(f">{names[k]}</td>") for k in shown]
    assert positions == sorted(positions)


def test_the_body_has_the_pdfs_what_changed_lines(received: dict[str, EmailMessage]) -> None:
    msg = received["ceo@example.com"]
    text = msg.get_body(("plain",)).get_content()
    head, _, _ = text.partition("\n- ")
    statements = [line[2:] for line in head.splitlines() if line.startswith("* ")]
    assert "What changed" in head and len(statements) >= 2
    pdf = normal(pdf_text(next(msg.iter_attachments()).get_content()))
    html = normal(re.sub(r"<[^>]+>", " ", msg.get_body(("html",)).get_content()))
    for sentence in statements:  # the same sentences as the PDF's box, the same numbers, in both bodies
        assert normal(sentence) in pdf
        assert normal(sentence) in html


def test_numbers_read_as_in_the_pdf_and_signs_stay_with_them(received: dict[str, EmailMessage]) -> None:
    msg = received["ceo@example.com"]
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    pdf = pdf_text(next(msg.iter_attachments()).get_content())
    revenue_line = next(line for line in kpi_lines(text) if line.startswith("- Sales revenue: "))
    value = revenue_line.removeprefix("- Sales revenue: ").split(" ")[0]
    assert value.endswith("M") and value in pdf  # "$1.76M", as the tile shows it, not "$1,757,575"
    # a sign before a currency symbol is glued to it with a word joiner (Unicode allows a line break
    # between "-" and "$", not between a sign and a digit), in both bodies, sentences included
    for body in (text, html):
        signed = re.findall(r"[+\-\u2212](\u2060?)[$€£]", body)
        assert signed and all(joiner for joiner in signed), body
    # and in HTML every variance of a KPI line sits in a nowrap span
    cell = re.search(r"Sales revenue</td>.*?<td colspan=\"3\"[^>]*>(.*?)</td>", html, re.S)
    assert cell is not None
    numbers = re.findall(r"[+\u2212][^\s<(]+", re.sub(r"<span style=\"white-space:nowrap;\">[^<]*</span>", "",
                                                       cell[1]))
    assert numbers == [], numbers
    assert "KPI ·" not in html  # no "+4 KPI": nothing is left out


def test_a_german_reader_gets_the_pdf_in_german(received: dict[str, EmailMessage]) -> None:
    german = received["cfo@example.com"]
    pdf = next(german.iter_attachments())
    assert pdf.get_filename() == "pulse-executive-2025-12.pdf"
    text = pdf_text(pdf.get_content())
    assert "Dezember 2025" in text and "December 2025" not in text
    assert "Umsatz" in text
    english = pdf_text(next(received["ceo@example.com"].iter_attachments()).get_content())
    assert "December 2025" in english and "Dezember" not in english


def test_a_kpi_line_keeps_one_scale_and_the_tables_rules(received: dict[str, EmailMessage]) -> None:
    """One number format per KPI (issue 18): the email's line for a KPI prints its value, plan and prior
    year variances and to-date value in one scale, as the PDF table does (it said "$1.76M · vs plan
    +$296,575"); a stock KPI has no year to date (its YTD is the month-end value again)."""
    text = normal(received["ceo@example.com"].get_body(("plain",)).get_content())
    lines = {line.split(":")[0].removeprefix("- "): line for line in kpi_lines(text.replace(" - ", "\n- "))}
    revenue = lines["Sales revenue"]
    amounts = re.findall(r"\$[\d.,]+[KMB]?", revenue)
    assert len(amounts) >= 4 and all(a.endswith("M") for a in amounts), revenue
    assert "vs plan +$0.30M (+20.3%)" in revenue
    pipeline = lines["Sales pipeline size"]
    assert "YTD" not in pipeline and re.search(r"vs prior year -\$[\d.]+M", pipeline), pipeline


@needs_shared
def test_a_partial_base_is_said_not_compared() -> None:
    """The CRM export begins 20 Oct 2016, so 2017's year to date has a ten-week base: the PDF shows the base
    marked partial with its reason and no change (it said "+2,118%"); the email line says the same."""
    from reportgen.pipeline.checks import load_checked
    from reportgen.render.email import headline_kpis

    loaded = load_checked(REPO / "configs" / "crm-sales-opportunities.yaml")
    metrics = compute_for_config(loaded, now=datetime(2026, 1, 15, tzinfo=UTC))
    [created] = [r for r in headline_kpis(metrics, ["opportunities_created"], locale="en_US", currency="USD",
                                          context="text")]
    assert created.window is not None and created.window.change is None
    assert created.window.text.endswith("vs prior year partial: deals begin Oct 20, 2016"), created.window.text
