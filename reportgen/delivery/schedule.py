"""When is a delivery due, and which period does it report?

Cron expressions are read in the delivery's own timezone, as wall-clock times. Daylight saving
time changes make some wall-clock times special; the rule is:

* A time that does not exist (spring forward, e.g. 02:30 on the last Sunday of March in
  Europe/Berlin) runs at the first valid instant after it (03:00 CEST, the moment of the change).
* A time that occurs twice (fall back, e.g. 01:00 on the first Sunday of November in
  America/New_York) runs once, at its first occurrence (01:00 EDT).

So a daily job runs exactly once on every local day, and no slot is ever produced twice (two cron
times that fall into the same gap collapse into one run).

Catch-up: slots after the last recorded run and up to ``now`` are returned as *due* if at most
``grace`` old, otherwise as *missed* (to be logged, not sent: a "March" scorecard arriving in May
helps nobody). With no recorded run, only slots within ``grace`` of ``now`` count.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter


def due_slots(
    cron: str, tz: str, *, last_run: datetime | None, now: datetime, grace: timedelta
) -> tuple[list[datetime], list[datetime]]:
    """Slots in ``(last_run, now]`` split into ``(due, missed)``, oldest first, as aware local times."""
    _require_aware(now, "now")
    zone = ZoneInfo(tz)
    after = now - grace if last_run is None else last_run
    _require_aware(after, "last_run")
    slots = _slots_between(cron, zone, after, now)
    due = [slot for slot in slots if now - slot <= grace]
    missed = [slot for slot in slots if now - slot > grace]
    return due, missed


def run_forever(
    tick: Callable[[datetime], None],
    *,
    clock: Callable[[], datetime],
    sleep: Callable[[float], object],  # its result is ignored: threading.Event.wait returns a bool
    stop: Callable[[], bool],
) -> None:
    """Call ``tick(now)`` once a minute, just after each minute boundary, until ``stop()`` is true.

    ``tick`` decides what is due (via :func:`due_slots` and the ledger), so a late wake-up or a
    long tick only delays work, never skips it. Exceptions from ``tick`` propagate: it should
    catch and log what it can handle itself.
    """
    while not stop():
        tick(clock())
        if stop():
            break
        sleep(seconds_until_next_minute(clock()))


def seconds_until_next_minute(now: datetime) -> float:
    """Seconds from ``now`` to the next whole minute (a full minute when exactly on one)."""
    into_minute = now.second + now.microsecond / 1_000_000
    return 60.0 - into_minute


def _slots_between(cron: str, zone: ZoneInfo, after: datetime, until: datetime) -> list[datetime]:
    """Run instants in ``(after, until]``, by walking cron in wall-clock time and mapping each to an instant."""
    # Start the walk a day early in wall-clock terms: around a DST change the wall-clock order and
    # the instant order disagree by up to the size of the shift.
    start_wall = after.astimezone(zone).replace(tzinfo=None) - timedelta(days=1)
    walker = croniter(cron, start_wall)
    slots: list[datetime] = []
    while True:
        instant = _wall_to_instant(walker.get_next(datetime), zone)
        if instant > until:
            return slots
        if instant > after and (not slots or instant != slots[-1]):
            slots.append(instant)


def _wall_to_instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """Apply the DST rule: nonexistent -> first valid instant after; repeated -> first occurrence."""
    first = wall.replace(tzinfo=zone, fold=0)
    if _exists(first):
        return first
    return _first_instant_after_gap(wall, zone)


def _exists(local: datetime) -> bool:
    round_trip = local.astimezone(UTC).astimezone(local.tzinfo)
    return round_trip.replace(tzinfo=None) == local.replace(tzinfo=None)


def _first_instant_after_gap(wall: datetime, zone: ZoneInfo) -> datetime:
    """The instant the clock jumps over ``wall``: the earliest instant whose local time is later than it."""
    # fold=1 reads the wall time with the pre-gap offset, fold=0 with the post-gap one (zoneinfo's
    # convention for gaps); the change happens between the two instants. Bisect to the second.
    low = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    low, high = min(low, high), max(low, high)
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).replace(tzinfo=None) > wall:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0).astimezone(zone)


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
