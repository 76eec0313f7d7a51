"""Deadlines in working days, on the calendar the profile names.

``cn``: the State Council's yearly holiday notice (国务院办公厅关于部分节假日安排的通知), from the
``chinesecalendar`` package. Public holidays do not count, make-up working days (调休, a
Saturday or Sunday worked in exchange) do, and days are the dates in China time. The package
covers the years whose notice it carries; a day in a later year is counted Monday to Friday,
and the deadline's facts say so. ``weekdays`` (or no calendar): Monday to Friday.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from importlib.metadata import version
from typing import Any

import chinese_calendar

from service.jurisdictions import CHINA_TIME

CHINESE_CALENDAR = f"chinesecalendar {version('chinesecalendar')}"


class Calendar(StrEnum):
    cn = "cn"
    weekdays = "weekdays"


@dataclass(frozen=True)
class Deadline:
    """When ``days`` working days after a moment end, and which days were counted."""

    at: datetime
    calendar: str
    counted: list[date]
    # Days passed over, with why: a holiday's name, "weekend".
    skipped: dict[date, str]
    # Days the calendar had no data for, counted Monday to Friday.
    guessed_years: list[int] = field(default_factory=list)

    def facts(self) -> dict[str, Any]:
        facts: dict[str, Any] = {
            "calendar": self.calendar,
            "working_days_counted": len(self.counted),
            "days_counted": [day.isoformat() for day in self.counted],
            # Saturdays and Sundays worked in exchange for a holiday (调休).
            "make_up_days_counted": [day.isoformat() for day in self.counted if day.weekday() >= 5],
            "days_skipped": {day.isoformat(): why for day, why in self.skipped.items()},
        }
        if self.guessed_years:
            years = ", ".join(str(year) for year in self.guessed_years)
            facts["calendar_note"] = (
                f"{CHINESE_CALENDAR} has no holiday data for {years}: "
                "those days were counted Monday to Friday"
            )
        return facts


def add_working_days(start: datetime, days: int, calendar: Calendar) -> Deadline:
    """``start`` plus ``days`` working days: the same time of day on the last one counted."""
    local = start.astimezone(CHINA_TIME) if calendar is Calendar.cn else start
    counted: list[date] = []
    skipped: dict[date, str] = {}
    guessed: set[int] = set()
    current = local
    while len(counted) < days:
        current += timedelta(days=1)
        day = current.date()
        why = _not_working(day, calendar, guessed)
        if why is None:
            counted.append(day)
        else:
            skipped[day] = why
    return Deadline(
        at=current.astimezone(start.tzinfo),
        calendar=CHINESE_CALENDAR if calendar is Calendar.cn else "Monday to Friday",
        counted=counted,
        skipped=skipped,
        guessed_years=sorted(guessed),
    )


def _not_working(day: date, calendar: Calendar, guessed: set[int]) -> str | None:
    """Why ``day`` is not a working day, or None when it is one."""
    if calendar is Calendar.cn:
        try:
            working = chinese_calendar.is_workday(day)
        except NotImplementedError:  # a year the package has no notice for
            guessed.add(day.year)
        else:
            if working:
                return None
            _, name = chinese_calendar.get_holiday_detail(day)
            return str(name) if name else "weekend"
    return None if day.weekday() < 5 else "weekend"
