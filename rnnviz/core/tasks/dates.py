"""Date normalisation, the classic first attention exercise: a date as people write it in, the
ISO date out.

    "thursday january 26 1995"  "26 jan 1995"  "05/03/79"  "1995-01-26"  ->  "1995-01-26"

Dates run from 1950-01-01 to 2049-12-31, so a two-digit year is unambiguous (50-99 -> 19yy,
00-49 -> 20yy). Slashes are read month first (US: "05/03/79" is 3 May 1979), dots day first
(German: "26.01.1995"). Everything is lower case. Generated at run time from the calendar:
nothing is downloaded.
"""

from __future__ import annotations

import datetime as dt

import torch

from rnnviz.core.tasks.transduction import Transduction

FIRST, LAST = dt.date(1950, 1, 1), dt.date(2049, 12, 31)
MONTHS = (
    "january february march april may june july august september october november december"
).split()
WEEKDAYS = "monday tuesday wednesday thursday friday saturday sunday".split()


def _fields(d: dt.date) -> dict[str, str]:
    month, weekday = MONTHS[d.month - 1], WEEKDAYS[d.weekday()]
    return {
        "weekday": weekday,
        "wd": weekday[:3],
        "month": month,
        "mon": month[:3],
        "d": str(d.day),
        "dd": f"{d.day:02d}",
        "m": str(d.month),
        "mm": f"{d.month:02d}",
        "yyyy": str(d.year),
        "yy": f"{d.year % 100:02d}",
    }


# The input formats, each as likely as the others.
FORMATS = (
    "{weekday} {month} {d} {yyyy}",
    "{weekday}, {month} {d}, {yyyy}",
    "{wd} {d} {mon} {yyyy}",
    "{month} {d} {yyyy}",
    "{month} {d}, {yyyy}",
    "{mon} {d} {yyyy}",
    "{mon} {d}, {yy}",
    "{d} {month} {yyyy}",
    "{d} {mon} {yyyy}",
    "{dd} {mon} {yy}",
    "{mm}/{dd}/{yyyy}",
    "{mm}/{dd}/{yy}",
    "{m}/{d}/{yy}",
    "{dd}.{mm}.{yyyy}",
    "{d}.{m}.{yy}",
    "{yyyy}-{mm}-{dd}",
    "{yyyy} {mon} {d}",
)


def write_date(d: dt.date, fmt: str) -> str:
    return fmt.format(**_fields(d))


class DatesTask(Transduction):
    """A date in one of FORMATS -> yyyy-mm-dd. The input length depends on the format (6 to
    29 characters), not on --seq-len."""

    name = "dates"
    in_len = 30  # the longest format, "wednesday, september 27, 1995", has 29 characters
    out_len = 10

    def input_symbols(self) -> str:
        return " ,-./0123456789abcdefghijklmnopqrstuvwxyz"

    def output_symbols(self) -> str:
        return "-0123456789"

    def strings(self, batch: int, gen: torch.Generator) -> list[tuple[str, str]]:
        days = torch.randint(0, (LAST - FIRST).days + 1, (batch,), generator=gen)  # (B,)
        formats = torch.randint(0, len(FORMATS), (batch,), generator=gen)  # (B,)
        pairs = []
        for n, f in zip(days.tolist(), formats.tolist(), strict=True):
            d = FIRST + dt.timedelta(days=n)
            pairs.append((write_date(d, FORMATS[f]), d.isoformat()))
        return pairs
