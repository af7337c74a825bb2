"""reportgen.delivery.deliver and reportgen.render.email against a real SMTP server process, real SQLite ledger,
real PDFs.

The scorecards come from the committed sample CRM (samples/data) through a small config (four deal
KPIs, six months of history) so each build takes a second or two; every number checked against a
PDF or an email is computed here independently from deals.csv with pandas.
"""
from __future__ import annotations

import email
import email.policy
import io
import re
import textwrap
from datetime import UTC, date
from email.message import EmailMessage
from pathlib import Path

import click.testing
import pandas as pd
import pdfplumber
import pytest
from pypdf import PdfReader

import reportgen.cli.delivery  # noqa: F401 - registers the delivery commands on the CLI group
from reportgen.cli.app import main
from reportgen.config.load import load_config, parse_config
from reportgen.delivery.ledger import Ledger
from reportgen.errors import ConfigError
from reportgen.render.fmt import format_change, format_value
from tests.fixtures.smtp import SmtpServerHandle

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples" / "data"
PERIOD = "2025-12"
NOW = "2026-01-01T07:00+01:00"  # the 1 January slot in Berlin: last complete month is December 2025
REGIONS = ("North", "South", "East", "West")


def config_text(smtp_port: int, *, deliveries: str, smtp_extra: str = "") -> str:
    """A small, fast config over the sample data with the given deliveries block (YAML, indented 2)."""
    return textwrap.dedent(f"""\
        scorecard:
          title: Sales Pulse
          company: Acme
          as_of: 2025-12-31
          history: 6
          forecast_periods: 0
          breakdowns: []
          output_dir: out
          allowed_roots: ["{SAMPLES}"]
        datasets:
          deals: {{path: {SAMPLES / "deals.csv"}}}
          targets: {{path: {SAMPLES / "targets.csv"}}}
        kpis: [revenue, deals_won, win_rate, average_deal_size]
        audiences:
          executive: {{template: executive}}
        smtp:
          host: 127.0.0.1
          port: {smtp_port}
          security: none
          from_address: reports@example.com
          from_name: Sales Ops
          retries: 0
        @SMTP_EXTRA@
        deliveries:
        """).replace(
        "@SMTP_EXTRA@\n", textwrap.indent(smtp_extra + "\n", "  ") if smtp_extra else ""
    ) + textwrap.indent(textwrap.dedent(deliveries), "  ")


def run_cli(*args: str) -> click.testing.Result:
    return click.testing.CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def pdf_text(data: bytes) -> str:
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return "\n".join(page.extract_text() or "" for page in pdf.pages)


def read_money(text: str, locale: str = "en_US") -> tuple[float, float]:
    """``+$0.30M`` -> (300000.0, 5000.0): the amount a formatted money value stands for, and half a unit
    of its last digit (what it was rounded to)."""
    text = text.replace("\u2212", "-").replace("\xa0", " ").replace("\u2060", "").strip()
    scale = 1.0
    for suffix, factor in (("Mio.", 1e6), ("M", 1e6), ("K", 1e3), ("B", 1e9)):
        if suffix in text:
            scale, text = factor, text.replace(suffix, "")
            break
    number = text.replace("$", "").replace("€", "").strip()
    if locale == "de_DE":
        number = number.replace(".", "").replace(",", ".")
    else:
        number = number.replace(",", "")
    decimals = len(number.split(".")[1]) if "." in number else 0
    return float(number) * scale, 0.5 * 10 ** -decimals * scale


def december_revenue(year: int = 2025) -> tuple[float, dict[str, float]]:
    """Won amount closed in December: company total and by region, straight from deals.csv."""
    deals = pd.read_csv(SAMPLES / "deals.csv", parse_dates=["close_date"])
    won = deals[(deals["stage"] == "won") & (deals["close_date"].dt.strftime("%Y-%m") == f"{year}-12")]
    return float(won["amount"].sum()), {r: float(v) for r, v in won.groupby("region")["amount"].sum().items()}


def revenue_target() -> float:
    targets = pd.read_csv(SAMPLES / "targets.csv")
    [value] = targets[(targets["period"] == PERIOD) & (targets["kpi"] == "revenue") & (targets["scope"] == "all")][
        "value"
    ]
    return float(value)


def attachment(msg: EmailMessage, content_type: str) -> EmailMessage:
    [part] = [p for p in msg.iter_attachments() if p.get_content_type() == content_type]
    return part  # type: ignore[return-value]


# ------------------------------------------------------------------------------------------------
# One company-wide delivery: MIME, exactly once, a refused recipient does not stop the others
# ------------------------------------------------------------------------------------------------

COMPANY = """\
- name: monthly-exec
  audience: executive
  schedule: "0 7 1 * *"
  timezone: Europe/Berlin
  subject: "{company}: {title} {period}"
  attach: [pdf, csv]
  recipients:
    - {email: ceo@example.com, name: Ana Müller}
    - {email: cfo@example.com, name: Ben Ode, locale: de_DE}
"""


def test_send_company_scorecard_once_with_html_text_charts_and_the_built_pdf(
    tmp_path: Path, smtp_server: SmtpServerHandle
) -> None:
    config = tmp_path / "sales.yaml"
    config.write_text(config_text(smtp_server.port, deliveries=COMPANY))
    smtp_server.configure(reject=["cfo@example.com"])

    first = run_cli("send", config, "--now", NOW)

    # the refused CFO fails alone; the CEO's message still goes out
    assert first.exit_code == 1
    assert re.search(r"failed\s+monthly-exec 2025-12 cfo@example.com: .*550", first.stderr)
    [received] = smtp_server.messages()
    assert received.mail_from == "reports@example.com"
    assert received.rcpt_tos == ["ceo@example.com"]
    msg = parse(received.data)
    assert msg["Subject"] == "Acme: Sales Pulse December 2025"
    assert msg["To"] == "Ana Müller <ceo@example.com>"
    assert [p.get_content_type() for p in msg.walk()] == [
        "multipart/mixed", "multipart/related", "multipart/alternative", "text/plain", "text/html",
        "image/png", "image/png", "application/pdf", "text/csv",
    ]
    html = msg.get_body(("html",)).get_content()
    text = msg.get_body(("plain",)).get_content()
    images = {p["Content-ID"].strip("<>"): p.get_content() for p in msg.walk() if p.get_content_type() == "image/png"}
    assert set(re.findall(r'src="cid:([^"]+)"', html)) == set(images)
    assert all(png.startswith(b"\x89PNG") and len(png) < 20_000 for png in images.values())
    assert not re.search(r"""(src|href)=["']?https?:""", html)  # nothing fetched from outside
    assert "max-width:600px" in html and "<table" in html

    # the same numbers in both alternatives, formatted as the PDF formats them: HTML with a real minus
    # sign and every number in a nowrap span, text with a hyphen glued to its number by a word joiner
    total, _ = december_revenue()
    assert format_value(total, "money", context="html", compact=True) in html
    assert format_value(total, "money", context="text", compact=True) in text
    assert "December 2025" in html and "December 2025" in text
    # revenue against plan (targets.csv) and prior year, signed, with its status as a word
    target, year_ago = revenue_target(), december_revenue(year=2024)[0]
    nowrap = '<span style="white-space:nowrap;">{}</span>'
    joined = {"html": html.replace("\u2060", ""), "text": text.replace("\u2060", "")}  # word joiners aside
    for body, context, wrap in ((joined["html"], "html", nowrap), (joined["text"], "text", "{}")):
        # each variance in the KPI's one scale (as the PDF's table prints it), read back and compared with
        # the arithmetic on the CSV to the last digit shown
        for reference, label in ((target, "vs plan"), (year_ago, "vs prior year")):
            pattern = (re.escape(label) + " " + wrap.format(r"([+\-\u2212]\$[\d.,]+[KMB]?)")
                       + r" \(" + wrap.format(r"([+\-\u2212][\d.]+%)") + r"\)")
            found = re.search(pattern, body)
            assert found, (label, context)
            amount, resolution = read_money(found[1])
            assert abs(amount - (total - reference)) <= resolution, (found[1], total - reference)
            assert found[2] == format_change((total - reference) / reference, context=context)
    status = "good" if total >= target else "warning" if total >= 0.9 * target else "bad"
    assert f"- Sales revenue: {format_value(total, 'money', context='text', compact=True)} [{status}]" in text
    assert re.search(rf"color:#[0-9a-f]{{6}};\">● {status}</td>", html)

    # the attachment is byte for byte the PDF written to disk
    on_disk = tmp_path / "out" / "deliveries" / "monthly-exec" / PERIOD / "sales-executive.pdf"
    pdf_part = attachment(msg, "application/pdf")
    assert pdf_part.get_filename() == "sales-executive-2025-12.pdf"
    assert pdf_part.get_content() == on_disk.read_bytes()
    assert len(PdfReader(io.BytesIO(pdf_part.get_content())).pages) >= 1
    csv_part = attachment(msg, "text/csv")
    assert csv_part.get_content().encode() == on_disk.with_name("sales-executive-metrics.csv").read_bytes()

    # second run: only the CFO, who failed, is sent; in German, with German numbers
    smtp_server.configure()
    second = run_cli("send", config, "--now", NOW)
    assert second.exit_code == 0, second.output
    assert "already_sent monthly-exec 2025-12 ceo@example.com" in second.stdout
    messages = smtp_server.messages()
    assert [m.rcpt_tos for m in messages] == [["ceo@example.com"], ["cfo@example.com"]]
    german = parse(messages[1].data)
    assert german["Subject"] == "Acme: Sales Pulse Dezember 2025"
    assert format_value(total, "money", locale="de_DE", context="text", compact=True) in german.get_body(
        ("plain",)).get_content()
    # and the PDF attached in German too, rendered for this reader (the built one stays English)
    german_pdf = pdf_text(attachment(german, "application/pdf").get_content())
    assert "Dezember 2025" in german_pdf and "December 2025" not in german_pdf
    assert format_value(total, "money", locale="de_DE", compact=True).replace("\xa0", " ") in german_pdf

    # third run: nothing left to send
    third = run_cli("send", config, "--now", NOW)
    assert third.exit_code == 0
    assert len(smtp_server.messages()) == 2
    ledger = Ledger(tmp_path / "reportgen-ledger.sqlite")
    rows = {(e.recipient, e.status, e.attempts) for e in ledger.history("monthly-exec")}
    assert rows == {("ceo@example.com", "sent", 1), ("cfo@example.com", "sent", 2)}


# ------------------------------------------------------------------------------------------------
# Bursting by region
# ------------------------------------------------------------------------------------------------

REGIONAL = """\
- name: regional
  audience: executive
  schedule: "0 7 1 * *"
  timezone: Europe/Berlin
  burst_by: region
  subject: "{title} {segment} {period}"
  recipients_csv: managers.csv
"""

MANAGERS = """\
segment,email,name,locale
North,north@example.com,Nora North,
South,south@example.com,Sam South,
East,east@example.com,Eve East,de_DE
West,west@example.com,Will West,
West,west2@example.com,Wanda West,
"""


def test_burst_by_region_sends_each_manager_only_their_regions_numbers(
    tmp_path: Path, smtp_server: SmtpServerHandle
) -> None:
    config = tmp_path / "sales.yaml"
    # in cards, which print amounts in full ("$732,363", looked for below); the table prints the KPI's scale
    config.write_text(config_text(smtp_server.port, deliveries=REGIONAL).replace(
        "executive: {template: executive}", "executive: {template: executive, layout: cards}"))
    (tmp_path / "managers.csv").write_text(MANAGERS)

    result = run_cli("send", config, "--now", NOW)

    assert result.exit_code == 0, result.output
    messages = smtp_server.messages()
    by_recipient = {m.rcpt_tos[0]: parse(m.data) for m in messages}
    assert sorted(len(m.rcpt_tos) for m in messages) == [1] * 5
    assert sorted(by_recipient) == sorted(["north@example.com", "south@example.com", "east@example.com",
                                           "west@example.com", "west2@example.com"])
    total, by_region = december_revenue()
    assert set(by_region) == set(REGIONS)
    owner = {"north@example.com": "North", "south@example.com": "South", "east@example.com": "East",
             "west@example.com": "West", "west2@example.com": "West"}
    for recipient, msg in by_recipient.items():
        region = owner[recipient]
        assert msg["Subject"] == f"Sales Pulse {region} " + ("Dezember 2025" if region == "East" else "December 2025")
        locale = "de_DE" if region == "East" else "en_US"  # the PDF in the reader's language too
        text = pdf_text(attachment(msg, "application/pdf").get_content())
        assert f"Region: {region}" in text  # the title names the segment
        # every amount the PDF prints, read back in its scale: the region's revenue is one of them, no other
        # region's and not the company's (a tile or table prints it in the KPI's one format)
        money = r"[\d.,]+(?:\s?Mio\.)?\s?\$" if locale == "de_DE" else r"\$[\d.,]+[KMB]?"
        amounts = [read_money(m, locale) for m in re.findall(money, text)]

        def shows(value: float) -> bool:
            return any(abs(amount - value) <= resolution for amount, resolution in amounts)  # noqa: B023

        assert shows(by_region[region]), (region, amounts)
        for other, value in by_region.items():
            if other != region:
                assert not shows(value), f"{recipient} sees {other}'s revenue"
                assert not re.search(rf"\b{other}\b", text), f"{recipient}'s PDF mentions {other}"
        assert not shows(total), f"{recipient} sees the company total"
        body = msg.get_body(("plain",)).get_content()
        name = "Umsatz" if locale == "de_DE" else "Sales revenue"
        shown = re.search(rf"- {name}: ([^ \[]+(?: Mio\.)?(?:\xa0| )?\$?)", body.replace("\u2060", ""))
        assert shown, body
        amount, resolution = read_money(shown[1], locale)
        assert abs(amount - by_region[region]) <= resolution, (shown[1], by_region[region])
        assert abs(amount - total) > resolution, f"{recipient} sees the company total"
    # both West managers got the identical West PDF; built once
    west = [
        attachment(by_recipient[r], "application/pdf").get_content() for r in ("west@example.com", "west2@example.com")
    ]
    assert west[0] == west[1]

    again = run_cli("send", config, "--now", NOW)
    assert again.exit_code == 0
    assert len(smtp_server.messages()) == 5


def test_a_segment_missing_from_the_data_fails_alone_with_a_hint(tmp_path: Path, smtp_server: SmtpServerHandle) -> None:
    config = tmp_path / "sales.yaml"
    config.write_text(config_text(smtp_server.port, deliveries=REGIONAL))
    (tmp_path / "managers.csv").write_text(
        "segment,email\nNrth,typo@example.com\nSouth,south@example.com\n,nobody@example.com\n"
    )

    result = run_cli("send", config, "--now", NOW)

    assert result.exit_code == 1
    assert ("failed       regional 2025-12 typo@example.com [Nrth]: building the scorecard for 'Nrth' failed: "
            "region 'Nrth' does not occur in the data - did you mean 'North'?") in result.stderr
    assert ("failed       regional 2025-12 nobody@example.com: no segment for burst_by 'region': "
            "add one in the recipients list") in result.stderr
    assert [m.rcpt_tos for m in smtp_server.messages()] == [["south@example.com"]]


# ------------------------------------------------------------------------------------------------
# Dry run, secrets, credentials
# ------------------------------------------------------------------------------------------------

def test_dry_run_writes_eml_files_and_sends_nothing(tmp_path: Path, smtp_server: SmtpServerHandle) -> None:
    config = tmp_path / "sales.yaml"
    config.write_text(config_text(smtp_server.port, deliveries=COMPANY))

    result = run_cli("send", config, "--period", "2025-11", "--dry-run", "-o", tmp_path / "eml")

    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in (tmp_path / "eml").iterdir())
    assert files == ["monthly-exec-2025-11-ceo@example.com.eml", "monthly-exec-2025-11-cfo@example.com.eml"]
    msg = parse((tmp_path / "eml" / files[0]).read_bytes())
    assert msg["To"] == "Ana Müller <ceo@example.com>"
    assert "November 2025" in msg["Subject"]
    assert attachment(msg, "application/pdf").get_content().startswith(b"%PDF-")
    assert smtp_server.messages() == []
    ledger = tmp_path / "reportgen-ledger.sqlite"
    assert not ledger.exists() or Ledger(ledger).history() == []


def test_password_in_yaml_is_refused_with_the_fix() -> None:
    text = config_text(2525, deliveries=COMPANY, smtp_extra="password: hunter2")
    with pytest.raises(ConfigError) as info:
        parse_config(text, "sales.yaml")
    assert str(info.value) == (
        "sales.yaml:23:3: smtp: smtp.password is not allowed: secrets do not belong in the config file; "
        "set password_env to the NAME of an environment variable holding it"
    )


def test_missing_credential_variable_is_named_in_one_line_before_anything_is_built(
    tmp_path: Path, smtp_server: SmtpServerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RG_TEST_SMTP_USER", raising=False)
    config = tmp_path / "sales.yaml"
    config.write_text(config_text(smtp_server.port, deliveries=COMPANY,
                                  smtp_extra="username_env: RG_TEST_SMTP_USER\npassword_env: RG_TEST_SMTP_PASSWORD"))

    result = run_cli("send", config, "--now", NOW)

    assert result.exit_code == 2
    assert result.stderr == ("error: environment variable RG_TEST_SMTP_USER (named by smtp.username_env) "
                             "is not set; export it before sending\n")
    assert not (tmp_path / "out").exists()
    assert smtp_server.messages() == []


def test_unknown_delivery_name_gets_a_hint(tmp_path: Path) -> None:
    config = tmp_path / "sales.yaml"
    config.write_text(config_text(2525, deliveries=COMPANY))
    result = run_cli("send", config, "--delivery", "monthly-exce", "--dry-run", "-o", tmp_path)
    assert result.exit_code == 2
    assert result.stderr == (f"error: delivery 'monthly-exce' is not declared in {config} - did you mean "
                             f"'monthly-exec'? (declared: monthly-exec)\n")


def test_delivery_period_uses_the_delivery_timezone(tmp_path: Path) -> None:
    from datetime import datetime

    from reportgen.delivery.plan import delivery_period

    config = tmp_path / "sales.yaml"
    config.write_text(config_text(2525, deliveries=COMPANY))
    loaded = load_config(config)
    [spec] = loaded.config.deliveries
    # 23:30 UTC on 31 January is already 1 February in Berlin: January is complete there
    assert delivery_period(loaded, spec, now=datetime(2026, 1, 31, 23, 30, tzinfo=UTC)) == "2026-01"
    assert delivery_period(loaded, spec, now=datetime(2026, 1, 31, 22, 30, tzinfo=UTC)) == "2025-12"


def test_delivery_example_config_is_valid_and_its_regions_exist_in_the_sample_data() -> None:
    from reportgen.delivery.deliver import check_segment_exists
    from reportgen.delivery.plan import plan_groups
    from reportgen.delivery.recipients import resolve_recipients
    from reportgen.pipeline.build import Segment, load_data

    loaded = load_config(REPO / "configs" / "delivery-example.yaml")
    specs = {spec.name: spec for spec in loaded.config.deliveries}
    assert set(specs) == {"executive-monthly", "regional-monthly"}
    assert (specs["executive-monthly"].schedule, specs["executive-monthly"].timezone) == ("0 7 1 * *", "Europe/Berlin")
    assert loaded.config.smtp is not None and loaded.config.smtp.password_env == "REPORTGEN_SMTP_PASSWORD"
    regional = specs["regional-monthly"]
    groups, unplaced = plan_groups(regional, resolve_recipients(loaded, regional)[0])
    assert unplaced == [] and set(groups) == set(REGIONS)
    data = load_data(loaded, today=date(2026, 1, 5))
    for region in groups:
        check_segment_exists(data, Segment("region", region))  # raises on a typo in the CSV
