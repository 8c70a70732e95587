"""The week CSV: round trip, column order freedom, and every refusal naming its line and column."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from transactive.simulate.week import (
    MICROGRIDS,
    PROSUMERS,
    Week,
    WeekDataError,
    WeekRowError,
    WeekUnreadable,
    column_names,
    read_week,
    write_week,
)

T = 8


def _week(rounds: int = T, seed: int = 1) -> Week:
    rng = np.random.default_rng(seed)
    load = np.round(rng.uniform(0, 400, (MICROGRIDS, PROSUMERS, rounds)), 3)
    pv = np.round(rng.uniform(0, 900, (MICROGRIDS, PROSUMERS, rounds)), 3)
    pv[:, :, 0] = 0.0
    times = tuple(f"2016-03-14T{t // 4:02d}:{15 * (t % 4):02d}:00+00:00" for t in range(rounds))
    return Week(times, load, pv)


def _lines(week: Week, path: Path) -> list[str]:
    write_week(week, path)
    return path.read_text(encoding="utf-8").splitlines()


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _row_error(path: Path) -> WeekRowError:
    with pytest.raises(WeekRowError) as info:
        read_week(path)
    return info.value


def _unreadable(path: Path) -> WeekUnreadable:
    with pytest.raises(WeekUnreadable) as info:
        read_week(path)
    return info.value


def _set(line: str, column: str, value: str) -> str:
    fields = line.split(",")
    fields[column_names().index(column)] = value
    return ",".join(fields)


# ------------------------------------------------------------------------------------------- the format


def test_column_names() -> None:
    names = column_names()
    assert len(names) == 1 + 2 * MICROGRIDS * PROSUMERS == 31
    assert names[:5] == ["time", "MG1_P1_load_Wh", "MG1_P1_pv_Wh", "MG1_P2_load_Wh", "MG1_P2_pv_Wh"]
    assert names[-1] == "MG3_P5_pv_Wh"
    assert len(set(names)) == len(names)


def test_round_trip(tmp_path: Path) -> None:
    week = _week()
    lines = _lines(week, tmp_path / "week.csv")
    assert lines[0] == ",".join(column_names())
    assert len(lines) == 1 + T
    assert lines[1].startswith("2016-03-14T00:00:00+00:00,")
    assert all(len(v.split(".")[1]) == 3 for v in lines[1].split(",")[1:])
    back = read_week(tmp_path / "week.csv")
    assert back.times == week.times
    assert back.rounds == T
    assert back.load.shape == back.pv.shape == (MICROGRIDS, PROSUMERS, T)
    assert back.load.dtype == back.pv.dtype == np.float64
    np.testing.assert_array_equal(back.load, week.load)
    np.testing.assert_array_equal(back.pv, week.pv)


def test_values_are_written_with_three_decimals(tmp_path: Path) -> None:
    week = _week(rounds=1)
    load = np.array(week.load)
    load[0, 0, 0] = 1.23456
    load[2, 4, 0] = 7.0
    lines = _lines(Week(week.times, load, week.pv), tmp_path / "w.csv")
    fields = dict(zip(column_names(), lines[1].split(","), strict=True))
    assert fields["MG1_P1_load_Wh"] == "1.235"
    assert fields["MG3_P5_load_Wh"] == "7.000"
    assert fields["MG1_P1_pv_Wh"] == "0.000"
    back = read_week(tmp_path / "w.csv")
    assert abs(back.load[0, 0, 0] - 1.23456) < 5e-4


def test_any_column_order(tmp_path: Path) -> None:
    week = _week()
    lines = _lines(week, tmp_path / "week.csv")
    order = list(range(31))
    random.Random(7).shuffle(order)
    shuffled = [",".join(line.split(",")[k] for k in order) for line in lines]
    assert shuffled[0].split(",")[0] != "time"
    back = read_week(_write(tmp_path / "shuffled.csv", shuffled))
    assert back.times == week.times
    np.testing.assert_array_equal(back.load, week.load)
    np.testing.assert_array_equal(back.pv, week.pv)


def test_tolerated_forms(tmp_path: Path) -> None:
    # CRLF line ends, a BOM, spaces around names and numbers, other offsets and Z, number forms, blank lines
    # at the end
    names = column_names()
    header = " , ".join(names)
    row1 = ",".join(["2016-03-14T00:00:00Z"] + [" 12 "] * 30)
    row2 = ",".join(["2016-03-14T01:15:00+01:00"] + [".25", "1e-3", "0", "-0", "3."] * 6)
    text = "\ufeff" + "\r\n".join([header, row1, row2]) + "\r\n\r\n\n"
    (tmp_path / "w.csv").write_text(text, encoding="utf-8", newline="")
    week = read_week(tmp_path / "w.csv")
    assert week.times == ("2016-03-14T00:00:00Z", "2016-03-14T01:15:00+01:00")
    assert week.load[0, 0, 0] == 12.0
    assert week.load[0, 0, 1] == 0.25
    assert week.pv[0, 0, 1] == 0.001
    assert week.load[0, 1, 1] == 0.0
    assert str(week.pv[0, 1, 1]) == "0.0"  # -0 reads as 0
    assert week.load[0, 2, 1] == 3.0


def test_quoted_fields(tmp_path: Path) -> None:
    lines = _lines(_week(rounds=2), tmp_path / "w.csv")
    fields = lines[1].split(",")
    lines[1] = ",".join(f'"{f}"' for f in fields)
    week = read_week(_write(tmp_path / "q.csv", lines))
    assert week.rounds == 2


# ------------------------------------------------------------------------------------------- the container


def test_week_is_read_only_and_copied() -> None:
    load = np.ones((MICROGRIDS, PROSUMERS, 2))
    week = Week(("2016-03-14T00:00:00+00:00", "2016-03-14T00:15:00+00:00"), load, np.zeros_like(load))
    load[0, 0, 0] = 5.0
    assert week.load[0, 0, 0] == 1.0
    with pytest.raises(ValueError, match="read-only"):
        week.load[0, 0, 0] = 2.0
    assert week.rounds == 2


def test_head() -> None:
    week = _week()
    first = week.head(3)
    assert first.rounds == 3
    assert first.times == week.times[:3]
    np.testing.assert_array_equal(first.load, week.load[:, :, :3])
    np.testing.assert_array_equal(first.pv, week.pv[:, :, :3])
    assert week.head(100).rounds == T
    with pytest.raises(ValueError, match="at least one"):
        week.head(0)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda t, load, pv: (t, load[:2], pv[:2]), "shape"),
        (lambda t, load, pv: (t, load, pv[:, :, :3]), "differ"),
        (lambda t, load, pv: (t[:3], load, pv), "times for"),
        (lambda t, load, pv: (t, -load, pv), "negative"),
        (lambda t, load, pv: (t, load, pv * np.nan), "not finite"),
        (lambda t, load, pv: ((), load[:, :, :0], pv[:, :, :0]), "at least one"),
        (lambda t, load, pv: (t[::-1], load, pv), "not after"),
        (lambda t, load, pv: (("2016-03-14T00:00:00", *t[1:]), load, pv), "no UTC offset"),
    ],
)
def test_week_refuses_inconsistent_data(change: Callable[..., tuple[Any, Any, Any]], match: str) -> None:
    week = _week()
    times, load, pv = change(week.times, np.array(week.load) + 1, np.array(week.pv))
    with pytest.raises(ValueError, match=match):
        Week(times, load, pv)


# ------------------------------------------------------------------------------------------- bad rows


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("MG2_P3_pv_Wh", "abc", "not a number: 'abc'"),
        ("MG2_P3_pv_Wh", "", "not a number: ''"),
        ("MG1_P1_load_Wh", "1,5", None),  # an extra field: the row is too long
        ("MG1_P1_load_Wh", "0x10", "not a number: '0x10'"),
        ("MG1_P1_load_Wh", "1_000", "not a number: '1_000'"),
        ("MG3_P5_load_Wh", "nan", "not a finite number: 'nan'"),
        ("MG3_P5_load_Wh", "-inf", "not a finite number: '-inf'"),
        ("MG3_P5_load_Wh", "1e999", "not a finite number: '1e999'"),
        ("MG1_P4_pv_Wh", "-0.001", "negative: '-0.001'"),
        ("time", "yesterday", "not an ISO 8601 date-time: 'yesterday'"),
        ("time", "2016-03-14T00:45:00", "no UTC offset (write e.g. +00:00): '2016-03-14T00:45:00'"),
        ("time", "2016-03-14", "no UTC offset (write e.g. +00:00): '2016-03-14'"),
    ],
)
def test_bad_value_names_line_and_column(tmp_path: Path, column: str, value: str, problem: str | None) -> None:
    lines = _lines(_week(), tmp_path / "w.csv")
    lines[4] = _set(lines[4], column, value)
    error = _row_error(_write(tmp_path / "week.csv", lines))
    assert error.line == 5
    if problem is None:
        assert error.column is None
        assert str(error) == f"{tmp_path / 'week.csv'}: line 5: 32 fields, the header has 31"
    else:
        assert error.column == column
        assert str(error) == f"{tmp_path / 'week.csv'}: line 5: {column}: {problem}"
    assert "\n" not in str(error)
    assert isinstance(error, WeekDataError)


def test_message_reads_as_the_contract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = _lines(_week(rounds=20), tmp_path / "w.csv")
    lines[16] = _set(lines[16], "MG2_P3_pv_Wh", "abc")
    _write(tmp_path / "week.csv", lines)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(WeekRowError) as info:
        read_week("week.csv")
    assert str(info.value) == "week.csv: line 17: MG2_P3_pv_Wh: not a number: 'abc'"


def test_time_must_increase(tmp_path: Path) -> None:
    lines = _lines(_week(), tmp_path / "w.csv")
    previous = lines[3].split(",")[0]
    lines[4] = _set(lines[4], "time", previous)
    error = _row_error(_write(tmp_path / "w.csv", lines))
    assert (error.line, error.column) == (5, "time")
    assert error.problem == f"{previous!r} is not after the previous row's time"
    # the same instant in another offset is not later either
    lines = _lines(_week(), tmp_path / "w.csv")
    lines[4] = _set(lines[4], "time", "2016-03-14T01:30:00+01:00")  # = 00:30Z, the row before is 00:30Z
    error = _row_error(_write(tmp_path / "w.csv", lines))
    assert (error.line, error.column) == (5, "time")


def test_short_row_names_the_first_missing_column(tmp_path: Path) -> None:
    lines = _lines(_week(), tmp_path / "w.csv")
    lines[2] = lines[2].rsplit(",", 2)[0]
    error = _row_error(_write(tmp_path / "w.csv", lines))
    assert (error.line, error.column) == (3, "MG3_P5_load_Wh")
    assert error.problem == "missing (29 fields, the header has 31)"


def test_blank_line_inside_the_data(tmp_path: Path) -> None:
    lines = _lines(_week(), tmp_path / "w.csv")
    lines.insert(3, "")
    error = _row_error(_write(tmp_path / "w.csv", lines))
    assert (error.line, error.column, error.problem) == (4, None, "empty line")


def test_first_bad_field_of_the_file_is_reported(tmp_path: Path) -> None:
    lines = _lines(_week(), tmp_path / "w.csv")
    lines[3] = _set(_set(lines[3], "MG3_P1_pv_Wh", "x"), "MG1_P2_pv_Wh", "y")
    lines[5] = _set(lines[5], "MG1_P1_load_Wh", "z")
    error = _row_error(_write(tmp_path / "w.csv", lines))
    assert (error.line, error.column) == (4, "MG1_P2_pv_Wh")


def test_row_errors_follow_the_file_column_order(tmp_path: Path) -> None:
    lines = _lines(_week(), tmp_path / "w.csv")
    order = list(range(31))[::-1]
    lines = [",".join(line.split(",")[k] for k in order) for line in lines]
    fields = lines[2].split(",")
    fields[0] = "x"  # MG3_P5_pv_Wh, now first
    fields[30] = "not a time"
    lines[2] = ",".join(fields)
    error = _row_error(_write(tmp_path / "w.csv", lines))
    assert (error.line, error.column) == (3, "MG3_P5_pv_Wh")


# ------------------------------------------------------------------------------------------- unreadable files


def test_missing_file(tmp_path: Path) -> None:
    error = _unreadable(tmp_path / "nope.csv")
    assert str(error) == f"{tmp_path / 'nope.csv'}: no such file"
    assert isinstance(error, WeekDataError)


def test_directory(tmp_path: Path) -> None:
    assert str(_unreadable(tmp_path)) == f"{tmp_path}: is a directory, not a file"


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "w.csv"
    write_week(_week(), path)
    path.write_bytes(path.read_bytes().replace(b"2016-03-14T00:30", b"2016-03-14T00\xff30", 1))
    error = _unreadable(path)
    assert "line 4: not UTF-8 text" in str(error)  # 00:30 is the third round


@pytest.mark.parametrize("content", ["", "\n\n", "  \r\n"])
def test_empty(tmp_path: Path, content: str) -> None:
    path = tmp_path / "w.csv"
    path.write_text(content, encoding="utf-8")
    assert str(_unreadable(path)) == f"{path}: empty file"


def test_header_only(tmp_path: Path) -> None:
    path = _write(tmp_path / "w.csv", [",".join(column_names())])
    assert _unreadable(path).problem == "no data rows after the header"


def test_header_missing(tmp_path: Path) -> None:
    lines = _lines(_week(), tmp_path / "w.csv")
    error = _unreadable(_write(tmp_path / "w.csv", lines[1:]))
    assert "header missing" in error.problem
    lines[0] = ""
    lines.insert(0, "")
    error = _unreadable(_write(tmp_path / "w.csv", lines))
    assert "header missing" in error.problem


@pytest.mark.parametrize(
    ("rename", "column", "problem"),
    [
        (("MG2_P1_pv_Wh", "MG2_P1_PV_Wh"), "MG2_P1_PV_Wh", "case-sensitive: 'MG2_P1_pv_Wh'"),
        (("MG2_P1_pv_Wh", "MG4_P1_pv_Wh"), "MG4_P1_pv_Wh", "unknown column 'MG4_P1_pv_Wh'"),
        (("time", "timestamp"), "timestamp", "unknown column 'timestamp'"),
        (("MG2_P1_pv_Wh", "MG2_P2_pv_Wh"), "MG2_P2_pv_Wh", "column named twice: 'MG2_P2_pv_Wh'"),
    ],
)
def test_bad_header_names_the_column(tmp_path: Path, rename: tuple[str, str], column: str, problem: str) -> None:
    lines = _lines(_week(), tmp_path / "w.csv")
    names = lines[0].split(",")
    names[names.index(rename[0])] = rename[1]
    lines[0] = ",".join(names)
    error = _unreadable(_write(tmp_path / "w.csv", lines))
    assert error.column == column
    assert problem in str(error)
    assert str(error).startswith(f"{tmp_path / 'w.csv'}: line 1: ")
    assert "\n" not in str(error)


def test_missing_and_extra_columns(tmp_path: Path) -> None:
    lines = _lines(_week(), tmp_path / "w.csv")
    dropped = [",".join(line.split(",")[:-1]) for line in lines]
    error = _unreadable(_write(tmp_path / "w.csv", dropped))
    assert (error.column, error.problem) == ("MG3_P5_pv_Wh", "line 1: missing column 'MG3_P5_pv_Wh'")
    extra = [line + ",1" for line in lines]
    extra[0] = lines[0] + ",note"
    error = _unreadable(_write(tmp_path / "w.csv", extra))
    assert (error.column, error.problem) == ("note", "line 1: unknown column 'note'")
    fewer = [",".join(line.split(",")[:2]) for line in lines]
    error = _unreadable(_write(tmp_path / "w.csv", fewer))
    assert error.problem == "line 1: missing column 'MG1_P1_pv_Wh' and 28 more"


def test_field_beyond_the_csv_limit(tmp_path: Path) -> None:
    lines = _lines(_week(), tmp_path / "w.csv")
    lines[2] = _set(lines[2], "MG1_P1_pv_Wh", '"' + "1" * 200_000 + '"')
    error = _row_error(_write(tmp_path / "w.csv", lines))
    assert (error.line, error.column) == (3, None)
    assert error.problem.startswith("not CSV: field larger than field limit")
    lines = _lines(_week(), tmp_path / "w.csv")
    lines[0] = '"' + "x" * 200_000 + '",' + lines[0]
    assert _unreadable(_write(tmp_path / "w.csv", lines)).problem.startswith("line 1: not CSV: ")
