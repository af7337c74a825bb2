"""reportgen.delivery.schedule (and the DeliverySpec config it reads)."""
from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from reportgen.config.delivery import DeliverySpec
from reportgen.delivery.plan import delivery_period
from reportgen.delivery.schedule import (
    due_slots,
    run_forever,
    seconds_until_next_minute,
)

BERLIN, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")
UTC = UTC
WEEK = timedelta(days=7)


def slots_on(cron: str, zone: ZoneInfo, day: date) -> list[str]:
    """Every slot whose local date is ``day``, as ISO strings with their offset."""
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    due, missed = due_slots(
        cron, zone.key, last_run=start - timedelta(days=1), now=start + timedelta(days=2), grace=WEEK
    )
    assert missed == []
    return [slot.isoformat() for slot in due if slot.date() == day]


@pytest.mark.parametrize(
    ("cron", "zone", "day", "expected"),
    [
        # Spring forward: 02:00-03:00 does not exist -> runs at 03:00, the first valid instant.
        ("30 2 * * *", BERLIN, date(2025, 3, 30), ["2025-03-30T03:00:00+02:00"]),
        ("30 2 * * *", NEW_YORK, date(2025, 3, 9), ["2025-03-09T03:00:00-04:00"]),
        ("0 1 * * *", BERLIN, date(2025, 3, 30), ["2025-03-30T01:00:00+01:00"]),
        ("0 1 * * *", NEW_YORK, date(2025, 3, 9), ["2025-03-09T01:00:00-05:00"]),
        # Fall back: the repeated hour runs once, at its first occurrence (summer offset).
        ("30 2 * * *", BERLIN, date(2025, 10, 26), ["2025-10-26T02:30:00+02:00"]),
        ("0 1 * * *", NEW_YORK, date(2025, 11, 2), ["2025-11-02T01:00:00-04:00"]),
        ("30 2 * * *", NEW_YORK, date(2025, 11, 2), ["2025-11-02T02:30:00-05:00"]),
        ("0 1 * * *", BERLIN, date(2025, 10, 26), ["2025-10-26T01:00:00+02:00"]),
    ],
)
def test_daily_job_on_dst_change_days(cron: str, zone: ZoneInfo, day: date, expected: list[str]) -> None:
    assert slots_on(cron, zone, day) == expected


def test_hourly_job_skips_nothing_and_repeats_nothing_across_dst() -> None:
    spring = slots_on("0 * * * *", BERLIN, date(2025, 3, 30))
    autumn = slots_on("0 * * * *", NEW_YORK, date(2025, 11, 2))

    assert len(spring) == 23 and "2025-03-30T03:00:00+02:00" in spring  # 02:00 became 03:00, merged
    assert len(autumn) == 24 and autumn.count("2025-11-02T01:00:00-04:00") == 1
    assert "2025-11-02T01:00:00-05:00" not in autumn


@pytest.mark.parametrize("zone", [BERLIN, NEW_YORK])
@pytest.mark.parametrize("cron", ["30 2 * * *", "0 1 * * *"])
def test_daily_job_runs_exactly_once_every_local_day_for_a_year(cron: str, zone: ZoneInfo) -> None:
    start = datetime(2025, 1, 1, tzinfo=zone)
    end = datetime(2026, 1, 1, tzinfo=zone)

    due, _ = due_slots(cron, zone.key, last_run=start, now=end, grace=timedelta(days=400))

    per_day = Counter(slot.astimezone(zone).date() for slot in due)
    assert len(per_day) == 365
    assert set(per_day.values()) == {1}
    assert due == sorted(due)


def test_catch_up_returns_recent_slots_as_due_and_old_ones_as_missed() -> None:
    last_run = datetime(2025, 4, 1, 8, 0, tzinfo=BERLIN)
    now = datetime(2025, 4, 5, 7, 0, tzinfo=BERLIN)  # down since 1 April, back before today's 08:00

    due, missed = due_slots("0 8 * * *", "Europe/Berlin", last_run=last_run, now=now, grace=timedelta(hours=24))

    assert [s.isoformat() for s in missed] == ["2025-04-02T08:00:00+02:00", "2025-04-03T08:00:00+02:00"]
    assert [s.isoformat() for s in due] == ["2025-04-04T08:00:00+02:00"]  # 23 hours late: within grace


def test_last_run_slot_itself_is_not_due_again() -> None:
    slot = datetime(2025, 4, 1, 8, 0, tzinfo=BERLIN)

    assert due_slots("0 8 * * *", "Europe/Berlin", last_run=slot, now=slot, grace=WEEK) == ([], [])
    assert due_slots("0 8 * * *", "Europe/Berlin", last_run=slot, now=slot + timedelta(days=1), grace=WEEK) == (
        [slot + timedelta(days=1)], [],
    )


def test_first_run_considers_only_the_grace_window() -> None:
    now = datetime(2025, 4, 5, 9, 0, tzinfo=UTC)

    due, missed = due_slots("0 8 * * *", "UTC", last_run=None, now=now, grace=timedelta(hours=24))

    assert (due, missed) == ([datetime(2025, 4, 5, 8, 0, tzinfo=UTC)], [])


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        due_slots("0 8 * * *", "UTC", last_run=None, now=datetime(2025, 4, 5), grace=WEEK)


@pytest.mark.parametrize(
    ("now", "grain", "label"),
    [
        (datetime(2025, 4, 1, 0, 30, tzinfo=BERLIN), "month", "2025-03"),
        # 22:30 UTC on 31 March is already 1 April in Berlin: March is complete there.
        (datetime(2025, 3, 31, 22, 30, tzinfo=UTC), "month", "2025-03"),
        (datetime(2025, 3, 31, 21, 30, tzinfo=UTC), "month", "2025-02"),
        (datetime(2025, 1, 15, tzinfo=BERLIN), "month", "2024-12"),
        (datetime(2025, 4, 2, tzinfo=BERLIN), "quarter", "2025-Q1"),
        (datetime(2025, 2, 2, tzinfo=BERLIN), "quarter", "2024-Q4"),
        (datetime(2025, 2, 19, tzinfo=BERLIN), "week", "2025-W07"),
        (datetime(2025, 1, 2, tzinfo=BERLIN), "week", "2024-W52"),
        (datetime(2025, 6, 1, tzinfo=BERLIN), "year", "2024"),
    ],
)
def test_last_complete_period_labels(now: datetime, grain: str, label: str) -> None:
    """The period a delivery reports on is judged on its timezone's calendar (one home: kpis.periods)."""
    from types import SimpleNamespace

    scorecard = SimpleNamespace(grain=grain, fiscal_year_start=1)
    loaded = SimpleNamespace(config=SimpleNamespace(scorecard=scorecard))
    spec = SimpleNamespace(period="last_complete", timezone="Europe/Berlin")
    assert delivery_period(loaded, spec, now=now) == label  # type: ignore[arg-type]


class FakeTime:
    """A clock that only moves when the loop sleeps."""

    def __init__(self, start: datetime) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += timedelta(seconds=seconds)


def test_run_forever_ticks_on_each_minute_until_stopped() -> None:
    fake = FakeTime(datetime(2025, 4, 1, 7, 58, 20, 500000, tzinfo=UTC))
    ticks: list[datetime] = []

    run_forever(ticks.append, clock=fake.clock, sleep=fake.sleep, stop=lambda: len(ticks) >= 3)

    assert ticks == [
        datetime(2025, 4, 1, 7, 58, 20, 500000, tzinfo=UTC),
        datetime(2025, 4, 1, 7, 59, tzinfo=UTC),
        datetime(2025, 4, 1, 8, 0, tzinfo=UTC),
    ]
    assert fake.sleeps == [39.5, 60.0]


def test_seconds_until_next_minute_after_a_slow_tick() -> None:
    assert seconds_until_next_minute(datetime(2025, 4, 1, 8, 0, 59, 900000, tzinfo=UTC)) == pytest.approx(0.1)


def delivery(**overrides: object) -> DeliverySpec:
    values: dict[str, object] = {"name": "exec", "audience": "executive", "schedule": "0 8 1 * *"}
    values.update(overrides)
    return DeliverySpec.model_validate(values)


def test_delivery_spec_defaults() -> None:
    spec = delivery()

    assert (spec.attach, spec.period, spec.grace_hours, spec.timezone) == (["pdf"], "last_complete", 24, "UTC")
    assert all(field.description for field in DeliverySpec.model_fields.values())


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"schedule": "0 8 1 * * *"},
            "schedule '0 8 1 * * *' has 6 fields; expected 5 (minute hour day month weekday)",
        ),
        ({"schedule": "0 25 * * *"}, "schedule '0 25 * * *' is not a valid cron expression"),
        ({"timezone": "Europe/Berlinn"}, "timezone 'Europe/Berlinn' is not an IANA timezone"),
        ({"subject": "{title} for {regoin}"}, "subject uses unknown placeholder(s) ['regoin']"),
        ({"attach": ["pdf", "docx"]}, "Input should be 'pdf', 'html', 'csv' or 'xlsx'"),
        ({"attach": ["pdf", "pdf"]}, "attach lists a format twice"),
        ({"recipients": [{"email": "ana@example.com\r\nBcc: x@evil.test"}]}, "contains a line break"),
        ({"recipients": [{"email": "not-an-address"}]}, "is not an email address like 'name@example.com'"),
        ({"grace": 3}, "Extra inputs are not permitted"),
    ],
)
def test_delivery_spec_rejects(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        delivery(**overrides)
    assert message in str(excinfo.value)
