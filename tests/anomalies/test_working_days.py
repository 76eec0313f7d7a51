"""The 5-working-day limit on an unsigned manifest (危险废物转移管理办法 Art. 18) counts China's
working days: the State Council's holidays are skipped, its make-up working days (调休) count,
dates are China's, and a year the calendar does not cover is counted Monday to Friday, saying
so."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from service.anomalies import profile as profiles
from service.anomalies.profile import Profiles
from service.anomalies.rules import Kind, manifest_hard_limit
from service.anomalies.working_days import Calendar, add_working_days
from service.jurisdictions import CHINA_TIME

CN = profiles.load_profile("cn-national").rule(Kind.manifest_unconfirmed)
CALENDAR = "chinesecalendar 1.11.0"


def _china(*args: int) -> datetime:
    return datetime(*args, tzinfo=CHINA_TIME)


def test_golden_week_2026_is_skipped_and_its_make_up_saturday_counts() -> None:
    # Dispatched Wednesday 30 September 2026. National Day: 1-7 October off; Saturday
    # 10 October is worked in exchange (State Council notice for 2026).
    dispatched = _china(2026, 9, 30, 10, 0)
    counted = add_working_days(dispatched, 5, Calendar.cn)
    assert counted.at == _china(2026, 10, 13, 10, 0)
    assert counted.counted == [
        date(2026, 10, 8),
        date(2026, 10, 9),
        date(2026, 10, 10),  # the make-up Saturday
        date(2026, 10, 12),
        date(2026, 10, 13),
    ]
    assert counted.skipped == {
        **{date(2026, 10, d): "National Day" for d in range(1, 8)},
        date(2026, 10, 11): "weekend",
    }
    # Monday to Friday alone would have ended the limit inside the holiday.
    assert add_working_days(dispatched, 5, Calendar.weekdays).at == _china(2026, 10, 7, 10, 0)


def test_the_hard_limit_waits_for_the_holiday_and_says_which_days_it_counted() -> None:
    dispatched = _china(2026, 9, 30, 10, 0)
    # 7 October: five weekdays have passed, but they were holidays.
    assert (
        manifest_hard_limit(dispatched_at=dispatched, now=_china(2026, 10, 12, 18), setting=CN)
        is None
    )
    assert (
        manifest_hard_limit(dispatched_at=dispatched, now=_china(2026, 10, 13, 10), setting=CN)
        is None
    )
    hit = manifest_hard_limit(dispatched_at=dispatched, now=_china(2026, 10, 13, 10, 1), setting=CN)
    assert hit is not None and hit.threshold == "> 5 working days"
    assert hit.facts == {
        "dispatched_at": "2026-09-30T10:00:00+08:00",
        "deadline": "2026-10-13T10:00:00+08:00",
        "elapsed_hours": 312.02,
        "calendar": CALENDAR,
        "working_days_counted": 5,
        "days_counted": ["2026-10-08", "2026-10-09", "2026-10-10", "2026-10-12", "2026-10-13"],
        "make_up_days_counted": ["2026-10-10"],
        "days_skipped": {
            **{f"2026-10-0{d}": "National Day" for d in range(1, 8)},
            "2026-10-11": "weekend",
        },
    }


def test_spring_festival_2026() -> None:
    # Dispatched Friday 13 February 2026: Saturday the 14th is worked, 15-23 February are the
    # Spring Festival holiday.
    counted = add_working_days(_china(2026, 2, 13, 9, 0), 5, Calendar.cn)
    assert counted.counted == [
        date(2026, 2, 14),
        date(2026, 2, 24),
        date(2026, 2, 25),
        date(2026, 2, 26),
        date(2026, 2, 27),
    ]
    assert counted.at == _china(2026, 2, 27, 9, 0)
    assert set(counted.skipped.values()) == {"Spring Festival"}
    assert sorted(counted.skipped) == [date(2026, 2, d) for d in range(15, 24)]
    assert counted.facts()["make_up_days_counted"] == ["2026-02-14"]


def test_a_make_up_sunday_counts_and_mid_autumn_does_not() -> None:
    # Friday 18 September 2026: Sunday the 20th is worked for National Day, Friday the 25th
    # is the Mid-autumn Festival.
    counted = add_working_days(_china(2026, 9, 18, 15, 30), 5, Calendar.cn)
    assert counted.counted == [date(2026, 9, d) for d in (20, 21, 22, 23, 24)]
    assert counted.skipped == {date(2026, 9, 19): "weekend"}
    assert add_working_days(_china(2026, 9, 18, 15, 30), 5, Calendar.weekdays).at == _china(
        2026, 9, 25, 15, 30
    )


def test_days_are_china_dates_whatever_zone_the_time_is_given_in() -> None:
    # 17:00 UTC on 24 September is 01:00 on 25 September in China, already the holiday.
    dispatched = datetime(2026, 9, 24, 17, 0, tzinfo=UTC)
    counted = add_working_days(dispatched, 5, Calendar.cn)
    assert counted.counted == [
        date(2026, 9, 28),
        date(2026, 9, 29),
        date(2026, 9, 30),
        date(2026, 10, 8),
        date(2026, 10, 9),
    ]
    assert counted.at == datetime(2026, 10, 8, 17, 0, tzinfo=UTC)
    assert counted.at.tzinfo is UTC


def test_a_year_the_calendar_does_not_cover_is_counted_monday_to_friday_and_said() -> None:
    dispatched = _china(2026, 12, 30, 10, 0)  # a Wednesday; 2027's notice is not in the package
    counted = add_working_days(dispatched, 5, Calendar.cn)
    assert counted.counted == [
        date(2026, 12, 31),
        date(2027, 1, 1),  # New Year's Day, unknown to the calendar: counted as a Friday
        date(2027, 1, 4),
        date(2027, 1, 5),
        date(2027, 1, 6),
    ]
    facts = counted.facts()
    assert facts["calendar"] == CALENDAR
    assert facts["calendar_note"] == (
        f"{CALENDAR} has no holiday data for 2027: those days were counted Monday to Friday"
    )
    hit = manifest_hard_limit(
        dispatched_at=dispatched, now=_china(2027, 1, 6, 10) + timedelta(seconds=1), setting=CN
    )
    assert hit is not None and "2027" in hit.facts["calendar_note"]
    # A deadline wholly inside covered years carries no such note.
    assert (
        "calendar_note"
        not in add_working_days(dispatched - timedelta(days=30), 5, Calendar.cn).facts()
    )


def test_profiles_without_a_calendar_count_monday_to_friday(tmp_path: Path) -> None:
    deployment = Profiles(local_dir=tmp_path)
    (tmp_path / "xx-weekdays.toml").write_text(
        'name = "xx-weekdays"\n[rules.manifest_unconfirmed]\nhard_limit_working_days = 5\n',
        encoding="utf-8",
    )
    plain = deployment.load("xx-weekdays").rule(Kind.manifest_unconfirmed)
    hit = manifest_hard_limit(
        dispatched_at=_china(2026, 9, 30, 10), now=_china(2026, 10, 7, 10, 1), setting=plain
    )
    assert hit is not None and hit.facts["calendar"] == "Monday to Friday"
    assert hit.facts["days_skipped"] == {"2026-10-03": "weekend", "2026-10-04": "weekend"}
    # The epidemic profile inherits the national calendar.
    epidemic = deployment.load("cn-epidemic").rule(Kind.manifest_unconfirmed)
    assert epidemic.values["working_days_calendar"] == "cn"

    (tmp_path / "xx-lunar.toml").write_text(
        'name = "xx-lunar"\n[rules.manifest_unconfirmed]\nhard_limit_working_days = 5\n'
        'working_days_calendar = "lunar"\n',
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="lunar"):
        deployment.load("xx-lunar")
