"""The ``transactive market clear`` contract: exit codes, JSON keys, intervals, bad rows naming the line, --fills.

Every contract test runs twice: with the pyarrow reader and with the csv-module fallback (pyarrow hidden),
which must agree to the byte on results and messages.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transactive.cli import main
from transactive.market import csvio
from transactive.market.csvio import OrdersFileError, read_orders_csv

# bids 20c x3, 15c x4, 10c x5; offers 5c x2, 12c x4, 18c x5 -> 6 kWh at (15 + 12) / 2 = 13.5 (test_auction)
NORMAL = "side,price,quantity\nbuy,20,3\nbuy,15,4\nbuy,10,5\nsell,5,2\nsell,12,4\nsell,18,5\n"
SUMMARY_KEYS = {
    "price",
    "quantity",
    "matched_orders",
    "lowest_accepted_bid",
    "highest_accepted_offer",
    "grid_import",
    "grid_export",
    "demand",
    "supply",
}


@pytest.fixture(params=["pyarrow", "python"], autouse=True)
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "python":
        monkeypatch.setattr(csvio, "_pyarrow_available", lambda: False)
    return str(request.param)


def write(tmp_path: Path, text: str | bytes, name: str = "orders.csv") -> str:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


def run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> object:
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_clear_prints_price_and_quantity(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["market", "clear", write(tmp_path, NORMAL)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out == ["price 13.5  quantity 6  matched orders 4  demand 12  supply 11"]


def test_clear_json_is_one_object_for_one_interval(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_json(["market", "clear", write(tmp_path, NORMAL)], capsys)
    assert isinstance(result, dict)
    assert set(result) >= SUMMARY_KEYS
    assert (result["price"], result["quantity"], result["matched_orders"]) == (13.5, 6, 4)
    assert isinstance(result["price"], float)
    assert isinstance(result["quantity"], float)
    assert isinstance(result["matched_orders"], int)
    assert "interval" not in result


def test_no_trade_is_a_null_price_and_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "side,price,quantity\nbuy,9,1\nsell,10,1\n")
    result = run_json(["market", "clear", path], capsys)
    assert (result["price"], result["quantity"], result["matched_orders"]) == (None, 0, 0)  # type: ignore[index]
    assert main(["market", "clear", path]) == 0
    assert "price none (no trade)  quantity 0  matched orders 0" in capsys.readouterr().out


def test_a_header_alone_is_an_empty_book(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for text in ("side,price,quantity", "side,price,quantity\n", "side,price,quantity\n\n"):
        result = run_json(["market", "clear", write(tmp_path, text)], capsys)
        assert result == {**result, "price": None, "quantity": 0, "matched_orders": 0}


def test_several_intervals_give_a_list_with_interval(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (
        "side,price,quantity,interval\n"
        "buy,10,1,2\nsell,5,1,2\n"  # interval 2: 1 kWh at 7.5
        "buy,20,2,1\nsell,30,1,1\nsell,10,4,1\n"  # interval 1: 2 kWh at 15
        "buy,1,1,10\n"  # interval 10: nothing to match (10 sorts after 2: integer labels)
    )
    result = run_json(["market", "clear", write(tmp_path, text)], capsys)
    assert isinstance(result, list)
    assert [r["interval"] for r in result] == [1, 2, 10]
    assert [(r["price"], r["quantity"], r["matched_orders"]) for r in result] == [(15, 2, 2), (7.5, 1, 2), (None, 0, 0)]
    assert all(set(r) >= SUMMARY_KEYS for r in result)
    assert main(["market", "clear", write(tmp_path, text)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["interval 1", "interval 2", "interval 10"]
    assert lines[0].startswith("interval 1: price 15  quantity 2  matched orders 2  demand 2  supply 5")


def test_text_interval_labels_sort_as_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (
        "interval,side,price,quantity\n"
        "2026-01-01T01:00Z,buy,10,1\n2026-01-01T00:00Z,sell,5,1\n 2026-01-01T00:00Z ,buy,6,1\n"
    )
    result = run_json(["market", "clear", write(tmp_path, text)], capsys)
    assert [r["interval"] for r in result] == ["2026-01-01T00:00Z", "2026-01-01T01:00Z"]  # type: ignore[union-attr]
    assert [r["quantity"] for r in result] == [1, 0]  # type: ignore[union-attr]


def test_one_interval_in_the_interval_column_is_one_object(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "side,price,quantity,interval\nbuy,2,1,7\nsell,1,1,7\n")
    result = run_json(["market", "clear", path], capsys)
    assert isinstance(result, dict)
    assert (result["interval"], result["price"], result["quantity"]) == (7, 1.5, 1)


def test_side_is_case_insensitive_and_columns_come_in_any_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        "Quantity,ID,Side,Interval,PRICE\n"
        "3,a,BUY,1,20\n4,b,Buy,1,15\n5,c,bUy,1,10\n2,d,SELL,1,5\n4,e,Sell,1,12\n5,f,sell,1,18\n"
    )
    result = run_json(["market", "clear", write(tmp_path, text)], capsys)
    assert (result["price"], result["quantity"], result["matched_orders"]) == (13.5, 6, 4)  # type: ignore[index]


def test_blank_lines_crlf_and_spaces_are_tolerated(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = NORMAL.replace("\n", "\r\n").replace("buy,15,4", " buy , 15 ,\t4").replace("sell,5,2", "\r\nsell,5,2\r\n,,")
    result = run_json(["market", "clear", write(tmp_path, "\ufeff" + text)], capsys)
    assert (result["price"], result["quantity"], result["matched_orders"]) == (13.5, 6, 4)  # type: ignore[index]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("side,price,quantity\nbuy,1,1\nsell,abc,1\n", "line 3: price: not a number: 'abc'"),
        ("side,price,quantity\nbuy,1,0\n", "line 2: quantity: must be positive: '0'"),
        ("side,price,quantity\nbuy,1,-2.5\n", "line 2: quantity: must be positive: '-2.5'"),
        ("side,price,quantity\nbuy,1,1\nbuy,inf,1\n", "line 3: price: not a finite number: 'inf'"),
        ("side,price,quantity\nbuy,NaN,1\n", "line 2: price: not a finite number: 'NaN'"),
        ("side,price,quantity\nbuy,1e400,1\n", "line 2: price: not a finite number: '1e400'"),
        ("side,price,quantity\nbuy,1,1e400\n", "line 2: quantity: not a finite number: '1e400'"),
        ("side,price,quantity\nbuy,0x10,1\n", "line 2: price: not a number: '0x10'"),
        ("side,price,quantity\nbuy,1_000,1\n", "line 2: price: not a number: '1_000'"),
        ("side,price,quantity\nbuy,,1\n", "line 2: price: not a number: ''"),
        ("side,price,quantity\nbuy,1,1\nhold,1,1\n", "line 3: side: must be buy or sell: 'hold'"),
        ("side,price,quantity\nbuy,1,1\nsell,1\n", "line 3: expected 3 fields, found 2"),
        ("side,price,quantity\nbuy,1,1,1\n", "line 2: expected 3 fields, found 4"),
        ("side,price,quantity\n\n\nbuy,x,1\n", "line 4: price: not a number: 'x'"),  # blank lines count
        ("side,price,quantity\nbuy,1,1\nbuy,1\nbuy,x,1\n", "line 3: expected 3 fields, found 2"),  # first wins
        ("side,price,quantity\nbuy,1,1\nbuy,x,1\nbuy,1\n", "line 3: price: not a number: 'x'"),
        ("side,price,quantity\nbuy,1\nbuy,1,1\nbuy,x,1\n", "line 2: expected 3 fields, found 2"),
        ("side,price,quantity\nbuy,1,1,1\n\nsell,1,1\nbuy,z,1\n", "line 2: expected 3 fields, found 4"),
        ("side,price,quantity\nsell,1e999,1\nbuy,x,1\n", "line 2: price: not a finite number: '1e999'"),
        ("side,price,quantity,interval\nbuy,1,1, \n", "line 2: interval: empty"),
        ('side,price,quantity,id\nbuy,1,1,"a\nb"\n', "line 2: id: a value may not span lines"),
        ("side,price\nbuy,1\n", "line 1: missing column(s) 'quantity'; the header needs side,price,quantity"),
        (
            "side,price,quantity,owner,note\n",
            "line 1: unknown column(s) 'owner', 'note'; expected side, price, quantity and optionally id, interval",
        ),
        ("side,price,price,quantity\n", "line 1: column(s) named twice: 'price'"),
        ("", "line 1: no header; expected the columns side,price,quantity"),
        (b"side,price,quantity\nbuy,1,1\nbuy,\xff,1\n", "line 3: not UTF-8 text"),
        (b"side,price,quantity\n\xef\xbb\xbfbuy,1,1\n", "line 2: side: must be buy or sell: '\\ufeffbuy'"),
        ('side,price,quantity\nbuy,"1,3\nsell,1,1\n', "line 2: expected 3 fields, found 2"),
        ('side,price,quantity\nbuy,"1"x,3\n', "line 2: price: not a number: '1x'"),
    ],
)
def test_a_bad_row_exits_1_naming_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str | bytes, message: str
) -> None:
    path = write(tmp_path, text)
    assert main(["market", "clear", path]) == 1
    captured = capsys.readouterr()
    assert captured.err == f"{path}: {message}\n"
    assert captured.out == ""
    assert main(["market", "clear", path, "--json"]) == 1


def test_the_first_bad_line_of_a_large_file_is_found(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [f"{'buy' if i % 2 else 'sell'},{i % 97 / 10},{1 + i % 5}" for i in range(20_000)]
    rows[15_321] = "sell,12..5,1"
    rows[17_000] = "sell,1"
    path = write(tmp_path, "side,price,quantity\n" + "\n".join(rows) + "\n")
    assert main(["market", "clear", path]) == 1
    assert capsys.readouterr().err == f"{path}: line 15323: price: not a number: '12..5'\n"


def test_unreadable_files_and_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["market", "clear", str(tmp_path / "missing.csv")]) == 2
    assert "missing.csv: no such file" in capsys.readouterr().err
    assert main(["market", "clear", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert main(["market"]) == 2
    for argv in (
        ["market", "clear"],
        ["market", "clear", "x.csv", "--mechanism", "vickrey"],
        ["market", "clear", "x.csv", "--reserve", "0.1"],
        ["market", "clear", "x.csv", "--reserve", "0.1,0.2"],
        ["market", "clear", "x.csv", "--reserve", "inf,0.2"],
        ["market", "bogus"],
    ):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
    assert main(["market", "clear", write(tmp_path, NORMAL), "--fills", str(tmp_path / "no" / "f.csv")]) == 2


def test_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    class Stdin:
        buffer = __import__("io").BytesIO(NORMAL.encode())

    monkeypatch.setattr(sys, "stdin", Stdin)
    result = run_json(["market", "clear", "-"], capsys)
    assert result["price"] == 13.5  # type: ignore[index]
    Stdin.buffer = __import__("io").BytesIO(b"side,price,quantity\nbuy,x,1\n")
    assert main(["market", "clear", "-"]) == 1
    assert capsys.readouterr().err == "<stdin>: line 2: price: not a number: 'x'\n"


def test_mechanism_tie_rule_and_matching_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, NORMAL)
    result = run_json(["market", "clear", path, "--mechanism", "pay-as-bid"], capsys)
    assert (result["price"], result["quantity"], result["mechanism"]) == (17.5, 6, "pay-as-bid")  # type: ignore[index]
    ties = write(tmp_path, "side,price,quantity\nbuy,10,1\nbuy,10,3\nsell,8,2\n", "ties.csv")
    fills = tmp_path / "fills.csv"
    assert main(["market", "clear", ties, "--tie-rule", "pro-rata", "--fills", str(fills)]) == 0
    capsys.readouterr()
    assert [float(r["fill"]) for r in csv.DictReader(fills.read_text().splitlines())] == [0.5, 1.5, 2]
    apart = write(tmp_path, "side,price,quantity\nbuy,5,4\nsell,10,3\n", "apart.csv")
    assert run_json(["market", "clear", apart], capsys)["quantity"] == 0  # type: ignore[index]
    result = run_json(["market", "clear", apart, "--matching", "full-overlap"], capsys)
    assert (result["price"], result["quantity"]) == (7.5, 3)  # type: ignore[index]


def test_reserve_prices(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "side,price,quantity\nbuy,15,6\nsell,10,2\n")
    result = run_json(["market", "clear", path, "--reserve", "18.9,3.2"], capsys)
    assert (result["quantity"], result["grid_import"], result["grid_export"]) == (2, 4, 0)  # type: ignore[index]
    assert main(["market", "clear", path, "--reserve", "18.9,3.2"]) == 0
    assert "grid import 4  grid export 0" in capsys.readouterr().out
    bad = write(tmp_path, "side,price,quantity\nbuy,15,6\n\nsell,10,2\nsell,3,1\nbuy,19,1\n", "bad.csv")
    assert main(["market", "clear", bad, "--reserve", "18.9,3.2"]) == 1
    assert capsys.readouterr().err == f"{bad}: line 5: price: offer 3.0 below the grid's buying price 3.2\n"
    bad = write(tmp_path, "side,price,quantity\nbuy,15,6\nbuy,19,1\n", "bad2.csv")
    assert main(["market", "clear", bad, "--reserve", "18.9,3.2"]) == 1
    assert capsys.readouterr().err == f"{bad}: line 3: price: bid 19.0 above the grid's selling price 18.9\n"


def test_fills_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "fills.csv"
    assert main(["market", "clear", write(tmp_path, NORMAL), "--fills", str(out)]) == 0
    assert capsys.readouterr().out.startswith("price 13.5")
    rows = list(csv.reader(out.read_text().splitlines()))
    assert rows[0] == ["id", "side", "price", "quantity", "fill", "trade_price"]
    body = [[r[0], r[1], *(float(x) if x else None for x in r[2:])] for r in rows[1:]]
    assert body == [  # without an id column an order's id is its line number
        ["2", "buy", 20, 3, 3, 13.5],
        ["3", "buy", 15, 4, 3, 13.5],
        ["4", "buy", 10, 5, 0, None],
        ["5", "sell", 5, 2, 2, 13.5],
        ["6", "sell", 12, 4, 4, 13.5],
        ["7", "sell", 18, 5, 0, None],
    ]


def test_fills_output_with_ids_and_intervals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = 'id,interval,side,price,quantity\nb1,2,buy,10,1\n"s,1",2,sell,5,1\n\nb2,1,BUY,20,2\ns2,1,sell,30,1\n'
    out = tmp_path / "fills.csv"
    assert main(["market", "clear", write(tmp_path, text), "--fills", str(out), "--mechanism", "pay-as-bid"]) == 0
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert [r["id"] for r in rows] == ["b1", "s,1", "b2", "s2"]
    assert [r["interval"] for r in rows] == ["2", "2", "1", "1"]
    assert [r["side"] for r in rows] == ["buy", "sell", "buy", "sell"]
    assert [r["fill"] for r in rows][:2] in (["1.0", "1.0"], ["1", "1"])
    assert [r["trade_price"] for r in rows][2:] == ["", ""]
    assert [float(r["trade_price"]) for r in rows[:2]] == [10, 5]
    assert capsys.readouterr().out.splitlines()[0].startswith("interval 1: price none (no trade)  quantity 0")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["buy", "sell", "BUY", " Sell ", "hold", ""]),
            st.sampled_from(["1", "2.5", "-3", ".5", "7.", "1e2", "abc", "inf", "1e999", " 4 ", "", "+-1"]),
            st.sampled_from(["1", "0.25", "0", "-1", "x", "2e0", ""]),
            st.sampled_from(["", ",extra", ",,"]),
        ),
        max_size=12,
    ),
    crlf=st.booleans(),
)
def test_both_readers_agree(rows: list[tuple[str, str, str, str]], crlf: bool) -> None:
    newline = "\r\n" if crlf else "\n"
    text = "side,price,quantity" + newline + "".join(f"{s},{p},{q}{x}{newline}" for s, p, q, x in rows)
    data = text.encode()
    results = []
    for which in ("pyarrow", "python"):
        try:
            book = read_orders_csv(data, engine=which)  # type: ignore[arg-type]
        except OrdersFileError as exc:
            results.append(("error", str(exc)))
        else:
            o = book.orders
            results.append(("ok", o.is_buy.tolist(), o.price.tolist(), o.quantity.tolist(), book.lines.tolist()))
    assert results[0] == results[1]


def test_the_installed_script_runs(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("transactive")
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "transactive.cli"]
    result = subprocess.run(
        [*argv, "market", "clear", write(tmp_path, NORMAL), "--json"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["price"] == 13.5
    bad = write(tmp_path, "side,price,quantity\nbuy,1,1\nbuy,abc,1\n", "bad.csv")
    result = subprocess.run([*argv, "market", "clear", bad], capture_output=True, text=True, check=False)
    assert (result.returncode, result.stderr) == (1, f"{bad}: line 3: price: not a number: 'abc'\n")


def test_imports_stay_lazy(tmp_path: Path, engine: str) -> None:
    # the CLI imports pyarrow only for `market clear`, and never pandas (pyarrow pulls it in on pa.array)
    code = (
        "import sys; from transactive.cli import main\n"
        "assert 'pyarrow' not in sys.modules and 'pandas' not in sys.modules\n"
        f"assert main(['market', 'clear', {write(tmp_path, NORMAL)!r}, '--fills', {str(tmp_path / 'f.csv')!r}]) == 0\n"
        "assert 'pandas' not in sys.modules, 'pandas was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False,
                            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert result.returncode == 0, result.stderr


def test_help_shows_examples_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["market", "--help"], ["market", "clear", "--help"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 0
        out = capsys.readouterr().out
        assert "example" in out
        assert "exit codes" in out
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "transactive market clear" in capsys.readouterr().out


def test_many_orders_many_intervals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(5)
    n = 5000
    side = np.where(rng.random(n) < 0.5, "buy", "sell")
    price = rng.integers(1, 50, n)
    qty = rng.integers(1, 9, n)
    interval = rng.integers(0, 24, n)
    text = "side,price,quantity,interval\n" + "".join(
        f"{a},{b},{c},{d}\n"
        for a, b, c, d in zip(side.tolist(), price.tolist(), qty.tolist(), interval.tolist(), strict=True)
    )
    result = run_json(["market", "clear", write(tmp_path, text)], capsys)
    assert [r["interval"] for r in result] == list(range(24))  # type: ignore[union-attr]
    book = read_orders_csv(text.encode())
    from transactive.market import clear

    for r in result:  # type: ignore[union-attr]
        at = np.flatnonzero(interval == r["interval"])
        expected = clear(book.orders.take(at))
        assert (r["price"], r["quantity"], r["matched_orders"]) == (
            expected.price,
            expected.quantity,
            expected.matched_orders,
        )
