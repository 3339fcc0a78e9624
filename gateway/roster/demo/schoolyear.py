"""The fixed school year the demo data describes, and the age rules of Danish institutions.

Everything dated in the output derives from these constants, never from today's date,
so that the same seed writes the same bytes on any day.
"""

from __future__ import annotations

import datetime as dt
import random
from itertools import accumulate

from gateway.roster.demo.draw import below, weighted

START = dt.date(2026, 8, 1)
END = dt.date(2027, 6, 30)
LABEL = "2026/27"
TITLE = f"Skoleåret {LABEL}"
# OneRoster's ``schoolYear`` is the calendar year in which the school year ends.
ONEROSTER_SCHOOL_YEAR = str(END.year)
LAST_MODIFIED = "2026-08-01T06:00:00Z"

# Children start 0. klasse in August of the calendar year in which they turn six,
# so the class year follows from the birth year alone.
FIRST_SCHOOL_BIRTH_YEAR = START.year - 6 - 9  # 9. klasse
LAST_SCHOOL_BIRTH_YEAR = START.year - 6  # 0. klasse
# Daycare covers the years before school; children born in the calendar year of the
# school start are still at home on parental leave (barsel).
FIRST_BIRTH = dt.date(FIRST_SCHOOL_BIRTH_YEAR, 1, 1)
LAST_BIRTH = dt.date(START.year - 1, 12, 31)
# Vuggestue until the third birthday, then børnehave.
VUGGESTUE_MAX_AGE = 3


def class_year(birth_date: dt.date) -> int | None:
    """The class year (0 for 0. klasse … 9) of a school child born then, or None."""
    year = START.year - 6 - birth_date.year
    return year if 0 <= year <= 9 else None


def age_on(birth_date: dt.date, day: dt.date) -> int:
    """Completed years of age on ``day``."""
    before_birthday = (day.month, day.day) < (birth_date.month, birth_date.day)
    return day.year - birth_date.year - int(before_birthday)


def in_vuggestue(birth_date: dt.date) -> bool:
    return age_on(birth_date, START) < VUGGESTUE_MAX_AGE


def random_day(rng: random.Random, first: dt.date, last: dt.date) -> dt.date:
    """A day from ``first`` to ``last`` inclusive."""
    return first + dt.timedelta(days=below(rng, (last - first).days + 1))


# How many children of each birth year the municipality has in its institutions, in
# percent: 7.5 per school year (75 % in all), and a daycare share that grows with age
# because the youngest are still at home for part of the year (25 % in all).
COHORTS: tuple[tuple[int, float], ...] = (
    *((year, 7.5) for year in range(FIRST_SCHOOL_BIRTH_YEAR, LAST_SCHOOL_BIRTH_YEAR + 1)),
    *zip(range(LAST_SCHOOL_BIRTH_YEAR + 1, START.year), (5.5, 5.5, 5.5, 5.0, 3.5), strict=True),
)


_COHORT_YEARS = tuple(year for year, _ in COHORTS)
_COHORT_CUMULATIVE = tuple(accumulate(share for _, share in COHORTS))


def cohort_birth_date(rng: random.Random) -> dt.date:
    """The birth date of a child drawn from :data:`COHORTS`."""
    year = weighted(rng, _COHORT_YEARS, _COHORT_CUMULATIVE)
    return random_day(rng, dt.date(year, 1, 1), dt.date(year, 12, 31))


def expected_shares() -> tuple[float, float, float]:
    """Expected fractions of children in school, vuggestue and børnehave, for planning."""
    total = sum(share for _, share in COHORTS)
    # Born after this day means younger than three at the start of the school year.
    cutoff = START.replace(year=START.year - VUGGESTUE_MAX_AGE)
    school = vuggestue = 0.0
    for year, share in COHORTS:
        if year <= LAST_SCHOOL_BIRTH_YEAR:
            school += share
            continue
        first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
        days = (last - first).days + 1
        under = min(days, max(0, (last - max(cutoff, first - dt.timedelta(days=1))).days))
        vuggestue += share * under / days
    return school / total, vuggestue / total, (total - school - vuggestue) / total
