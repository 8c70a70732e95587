"""One week of 15-minute rounds for three microgrids of five PV prosumers, and its CSV file.

The data of the IOTA double-auction reproduction (issue 16, ``transactive simulate paper-iota --data CSV``).
A :class:`Week` holds, per microgrid ``m`` (3), prosumer ``i`` (5) and round ``t``, the energy the prosumer
consumed (``load``) and generated (``pv``) in the round, in Wh; the third microgrid's 12-hour shift of
generation is already in the data.

The file format::

    time,MG1_P1_load_Wh,MG1_P1_pv_Wh,MG1_P2_load_Wh,...,MG3_P5_pv_Wh
    2016-03-14T00:00:00+00:00,61.190,0.000,42.870,...,0.000

* line 1 is the header: ``time`` and ``MG{m}_P{i}_load_Wh`` / ``MG{m}_P{i}_pv_Wh`` for m = 1..3, i = 1..5,
  exactly these 31 names (case-sensitive; spaces or tabs around a name are dropped) in any order; an
  unknown, missing or repeated name makes the file unreadable (:class:`WeekUnreadable`, naming the column);
* one data row per round, in time order; ``time`` is an ISO 8601 date-time with a UTC offset
  (``+00:00``, ``Z``, ...), strictly after the previous row's; every other field is a plain decimal number
  (``12``, ``0.5``, ``.25``, ``1e-3``, optionally between spaces or tabs), finite and not negative;
* blank lines at the end of the file are ignored; anywhere else a blank line is a bad row.

A bad row raises :class:`WeekRowError` with its physical ``line`` (1 = header) and ``column``; ``str()``
reads ``week.csv: line 17: MG2_P3_pv_Wh: not a number: 'abc'`` (the CLI exits 1). A file that cannot be read
as a week at all (missing, a directory, not UTF-8, empty, a bad header, no data rows) raises
:class:`WeekUnreadable` (the CLI exits 2). Rows are checked in file order, fields left to right, so the
error names the first bad field of the file.

:func:`write_week` writes the header in :func:`column_names` order and every value with 3 decimals (mWh).
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = [
    "MICROGRIDS",
    "PROSUMERS",
    "Week",
    "WeekDataError",
    "WeekRowError",
    "WeekUnreadable",
    "column_names",
    "read_week",
    "write_week",
]

MICROGRIDS = 3
PROSUMERS = 5

FloatArray = npt.NDArray[np.float64]

_NUMBER_RE = re.compile(r"[ \t]*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[ \t]*")
_NON_FINITE = {"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity", "nan", "+nan", "-nan"}
_LINE_BREAK_RE = re.compile(r"\r\n|\r|\n")
_BLANK = " \t"


def column_names() -> list[str]:
    """``time``, then ``MG{m}_P{i}_load_Wh`` and ``MG{m}_P{i}_pv_Wh`` for m = 1..3, i = 1..5 (the file's order)."""
    names = ["time"]
    for m in range(1, MICROGRIDS + 1):
        for i in range(1, PROSUMERS + 1):
            names += [f"MG{m}_P{i}_load_Wh", f"MG{m}_P{i}_pv_Wh"]
    return names


# ------------------------------------------------------------------------------------------- errors


class WeekDataError(Exception):
    """Either error of a week file (:class:`WeekRowError`, :class:`WeekUnreadable`)."""


class WeekRowError(WeekDataError):
    """A bad data row; ``str()`` reads ``week.csv: line 17: MG2_P3_pv_Wh: not a number: 'abc'``."""

    def __init__(self, source: str, line: int, column: str | None, problem: str) -> None:
        where = f"{column}: " if column else ""
        super().__init__(f"{source}: line {line}: {where}{problem}")
        self.source = source
        self.line = line
        self.column = column
        self.problem = problem


class WeekUnreadable(WeekDataError):
    """A file that is no week at all; ``str()`` is one line naming the file (and the column, if one is to blame)."""

    def __init__(self, source: str, problem: str, *, column: str | None = None) -> None:
        super().__init__(f"{source}: {problem}")
        self.source = source
        self.column = column
        self.problem = problem


# ------------------------------------------------------------------------------------------- the week


def _parse_time(text: str) -> datetime:
    """An ISO 8601 date-time with a UTC offset; ValueError (a short reason) otherwise."""
    try:
        moment = datetime.fromisoformat(text.strip(_BLANK))
    except ValueError:
        raise ValueError(f"not an ISO 8601 date-time: {text!r}") from None
    if moment.utcoffset() is None:
        raise ValueError(f"no UTC offset (write e.g. +00:00): {text!r}")
    return moment


@dataclass(frozen=True, eq=False)
class Week:
    """Energy per microgrid, prosumer and round: ``load[m, i, t]`` consumed and ``pv[m, i, t]`` generated, Wh.

    The arrays are float64 of shape (3, 5, T), copied on construction and read-only; ``times`` are the
    rounds' start times as written in the file (ISO 8601 with a UTC offset, strictly increasing).
    A week that breaks any of this raises ValueError.
    """

    times: tuple[str, ...]
    load: FloatArray
    pv: FloatArray

    def __post_init__(self) -> None:
        times = tuple(str(t) for t in self.times)
        load = np.array(self.load, dtype=np.float64)
        pv = np.array(self.pv, dtype=np.float64)
        for name, values in (("load", load), ("pv", pv)):
            if values.ndim != 3 or values.shape[:2] != (MICROGRIDS, PROSUMERS):
                raise ValueError(f"{name} must have shape ({MICROGRIDS}, {PROSUMERS}, T), not {values.shape}")
            if not np.isfinite(values).all():
                raise ValueError(f"{name} has values that are not finite")
            if (values < 0).any():
                raise ValueError(f"{name} has negative values")
        if load.shape != pv.shape:
            raise ValueError(f"load {load.shape} and pv {pv.shape} differ in shape")
        if len(times) != load.shape[2]:
            raise ValueError(f"{len(times)} times for {load.shape[2]} rounds")
        if not times:
            raise ValueError("a week needs at least one round")
        previous: datetime | None = None
        for text in times:
            moment = _parse_time(text)
            if previous is not None and not moment > previous:
                raise ValueError(f"time {text!r} is not after the previous round's")
            previous = moment
        load.flags.writeable = False
        pv.flags.writeable = False
        object.__setattr__(self, "times", times)
        object.__setattr__(self, "load", load)
        object.__setattr__(self, "pv", pv)

    @property
    def rounds(self) -> int:
        """The number of rounds T."""
        return len(self.times)

    def head(self, k: int) -> Week:
        """The first ``k`` rounds (all of them when ``k`` >= T); ``k`` must be at least 1."""
        if k < 1:
            raise ValueError(f"head needs at least one round, not {k}")
        return Week(self.times[:k], self.load[:, :, :k], self.pv[:, :, :k])


# ------------------------------------------------------------------------------------------- reading


def _slots() -> dict[str, tuple[int, int, int]]:
    """Column name -> (0 load / 1 pv, microgrid index, prosumer index)."""
    slots: dict[str, tuple[int, int, int]] = {}
    for m in range(MICROGRIDS):
        for i in range(PROSUMERS):
            slots[f"MG{m + 1}_P{i + 1}_load_Wh"] = (0, m, i)
            slots[f"MG{m + 1}_P{i + 1}_pv_Wh"] = (1, m, i)
    return slots


def _split(source: str, number: int, line: str) -> list[str]:
    try:
        return next(csv.reader([line]), [])
    except csv.Error as exc:  # e.g. a field beyond the csv module's size limit
        if number == 1:
            raise WeekUnreadable(source, f"line 1: not CSV: {exc}") from None
        raise WeekRowError(source, number, None, f"not CSV: {exc}") from None


def _header(source: str, line: str) -> list[str]:
    fields = [f.strip(_BLANK) for f in _split(source, 1, line)]
    if not any(fields):
        raise WeekUnreadable(source, "line 1: header missing (the line is empty)")
    try:
        _parse_time(fields[0])
    except ValueError:
        pass
    else:
        raise WeekUnreadable(source, "line 1: header missing (line 1 is a data row; the first line names the columns)")
    expected = column_names()
    known = set(expected)
    by_lower = {name.lower(): name for name in expected}
    seen: set[str] = set()
    for name in fields:
        if name in seen:
            raise WeekUnreadable(source, f"line 1: column named twice: {name!r}", column=name)
        seen.add(name)
    unknown = [name for name in fields if name not in known]
    if unknown:
        name = unknown[0]
        hint = ""
        if name.lower() in by_lower:
            hint = f" (names are case-sensitive: {by_lower[name.lower()]!r})"
        elif not name:
            name, hint = "", " (an empty column name)"
        others = f" and {len(unknown) - 1} more" if len(unknown) > 1 else ""
        raise WeekUnreadable(source, f"line 1: unknown column {name!r}{hint}{others}", column=name)
    missing = [name for name in expected if name not in seen]
    if missing:
        others = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise WeekUnreadable(source, f"line 1: missing column {missing[0]!r}{others}", column=missing[0])
    return fields


def _number(text: str) -> float:
    """A plain finite non-negative decimal; ValueError (a short reason) otherwise."""
    if _NUMBER_RE.fullmatch(text) is None:
        if text.strip(_BLANK).lower() in _NON_FINITE:
            raise ValueError(f"not a finite number: {text!r}")
        raise ValueError(f"not a number: {text!r}")
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {text!r}")
    if value < 0:
        raise ValueError(f"negative: {text!r}")
    return value + 0.0  # -0 reads as 0


def _row(
    source: str,
    number: int,
    fields: Sequence[str],
    columns: Sequence[str],
    slots: dict[str, tuple[int, int, int]],
    out: FloatArray,
    t: int,
    previous: datetime | None,
) -> tuple[str, datetime]:
    """Check one data row (fields left to right) into ``out[:, :, :, t]``; its time text and moment."""
    if len(fields) > len(columns):
        raise WeekRowError(source, number, None, f"{len(fields)} fields, the header has {len(columns)}")
    time_text = ""
    moment: datetime | None = None
    for name, text in zip(columns, fields, strict=False):
        if name == "time":
            try:
                moment = _parse_time(text)
            except ValueError as exc:
                raise WeekRowError(source, number, name, str(exc)) from None
            if previous is not None and not moment > previous:
                raise WeekRowError(source, number, name, f"{text.strip(_BLANK)!r} is not after the previous row's time")
            time_text = text.strip(_BLANK)
        else:
            try:
                value = _number(text)
            except ValueError as exc:
                raise WeekRowError(source, number, name, str(exc)) from None
            kind, m, i = slots[name]
            out[kind, m, i, t] = value
    if len(fields) < len(columns):
        missing = columns[len(fields)]
        raise WeekRowError(source, number, missing, f"missing ({len(fields)} fields, the header has {len(columns)})")
    assert moment is not None
    return time_text, moment


def read_week(path: str | Path) -> Week:
    """The week in a CSV file (format: the module's docstring); WeekRowError / WeekUnreadable when it is bad."""
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise WeekUnreadable(source, "no such file") from None
    except IsADirectoryError:
        raise WeekUnreadable(source, "is a directory, not a file") from None
    except PermissionError:
        raise WeekUnreadable(source, "permission denied") from None
    except OSError as exc:
        raise WeekUnreadable(source, f"cannot be read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad_line = raw[: exc.start].count(b"\n") + 1
        raise WeekUnreadable(source, f"line {bad_line}: not UTF-8 text (byte {exc.start})") from None
    if not text.strip():
        raise WeekUnreadable(source, "empty file")
    lines = _LINE_BREAK_RE.split(text)
    while lines and not lines[-1].strip():
        lines.pop()
    columns = _header(source, lines[0])
    rows = lines[1:]
    if not rows:
        raise WeekUnreadable(source, "no data rows after the header")
    slots = _slots()
    values = np.empty((2, MICROGRIDS, PROSUMERS, len(rows)), dtype=np.float64)
    times: list[str] = []
    previous: datetime | None = None
    for t, line in enumerate(rows):
        number = t + 2
        if not line.strip():
            raise WeekRowError(source, number, None, "empty line")
        time_text, previous = _row(source, number, _split(source, number, line), columns, slots, values, t, previous)
        times.append(time_text)
    return Week(tuple(times), values[0], values[1])


# ------------------------------------------------------------------------------------------- writing


def write_week(week: Week, path: str | Path) -> None:
    """Write ``week`` as CSV: the header in :func:`column_names` order, values with 3 decimals (Wh)."""
    t_count = week.rounds
    table = np.empty((t_count, 2 * MICROGRIDS * PROSUMERS), dtype=np.float64)
    table[:, 0::2] = week.load.reshape(MICROGRIDS * PROSUMERS, t_count).T
    table[:, 1::2] = week.pv.reshape(MICROGRIDS * PROSUMERS, t_count).T
    table = table + 0.0  # no "-0.000"
    lines = [",".join(column_names())]
    for time, row in zip(week.times, table.tolist(), strict=True):
        lines.append(time + "," + ",".join(f"{v:.3f}" for v in row))
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
