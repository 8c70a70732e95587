"""Order books from CSV files, and per-order fills back to CSV.

The file format (the contract of ``transactive market clear``)::

    side,price,quantity[,id][,interval]      header: these names, any order, any case; nothing else
    buy,0.15,2.5                              side: buy or sell (any case); price: a finite number;
    SELL,0.08,4                               quantity: a positive finite number

* one physical line per order; line 1 is the header; blank lines (and rows whose fields are all empty)
  are skipped but still counted, so every error names the line a text editor shows;
* numbers are plain decimals (``12``, ``-0.5``, ``.25``, ``1e-3``), optionally between spaces or tabs;
  ``inf``, ``nan``, ``1e999``, hexadecimal and ``1_000`` are refused;
* ``interval`` labels (spaces around them dropped) group orders into separate auctions; when every label
  is an integer the labels are integers (``01`` and ``1`` are one interval), otherwise text; they sort
  numerically or as text (ISO 8601 date-times sort in time order);
* ``id`` is free text (``--fills`` writes it back); without an id column an order's id is its line number.

The first bad line stops reading: :class:`OrdersFileError` carries its ``line`` and ``field`` and reads
``line 17: price: not a number: 'abc'``. Problems are checked in file order, so the line reported is the
first bad line of the file, whichever engine reads it.

Two engines give identical results. ``pyarrow`` (the ``market`` extra) reads every column as text with
:mod:`pyarrow.csv`, validates whole columns with :mod:`pyarrow.compute` regular expressions and only then
converts them to numbers (BENCHMARKS.md has the figures), and the first bad row comes from the masks, its
message from the same per-row check the other engine uses. ``python`` uses the :mod:`csv` module (much
slower); ``auto`` takes pyarrow when it is installed, and the python engine for what pyarrow
refuses (text that is not UTF-8, malformed quoting), so that even those errors name their line.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from transactive.market.orders import BoolArray, FloatArray, IntArray, MarketError, Orders

__all__ = ["COLUMNS", "OPTIONAL_COLUMNS", "OrdersFile", "OrdersFileError", "read_orders_csv", "write_fills_csv"]

COLUMNS = ("side", "price", "quantity")
OPTIONAL_COLUMNS = ("id", "interval")

Engine = Literal["auto", "pyarrow", "python"]

_NUMBER = r"[ \t]*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[ \t]*"
_SIDE = r"[ \t]*(?i:buy|sell)[ \t]*"
_INTEGER = r"[+-]?[0-9]+"
_NUMBER_RE = re.compile(_NUMBER)
_INTEGER_RE = re.compile(_INTEGER)
_BLANK = " \t"
_NON_FINITE = {"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity", "nan", "+nan", "-nan"}


class OrdersFileError(MarketError):
    """A bad line of an orders file; ``str()`` reads ``line 17: price: not a number: 'abc'``."""

    def __init__(self, line: int, reason: str, *, field: str | None = None) -> None:
        super().__init__(f"line {line}: {field + ': ' if field else ''}{reason}", field=field)
        self.line = line
        self.reason = reason


Label = int | str


@dataclass(frozen=True, slots=True, eq=False)
class OrdersFile:
    """The orders of a CSV file, in file order (not a live book: that is :class:`~transactive.market.cda.OrderBook`)."""

    orders: Orders
    #: the physical line (1 = header) of each order
    lines: IntArray
    #: the file's columns, lower case, in file order
    columns: tuple[str, ...]
    #: per order, the position of its interval in ``labels`` (None without an interval column)
    intervals: IntArray | None
    #: the distinct interval labels, sorted
    labels: tuple[Label, ...]
    #: the id column as read (a list of str, or a pyarrow array), None without one
    id_column: Any = None

    def __len__(self) -> int:
        return len(self.orders)

    def ids(self) -> list[str]:
        """Each order's id: the id column, or the line number when the file has none."""
        if self.id_column is None:
            return [str(n) for n in self.lines.tolist()]
        if isinstance(self.id_column, list):
            return list(self.id_column)
        out: list[str] = self.id_column.to_pylist()
        return out

    def check_reserve(self, grid_buy: float, grid_sell: float) -> None:
        """Refuse bids above ``grid_buy`` and offers below ``grid_sell`` (the first such line)."""
        o = self.orders
        bad = (o.is_buy & (o.price > grid_buy)) | (~o.is_buy & (o.price < grid_sell))
        if not bad.any():
            return
        i = int(np.argmax(bad))
        price = float(o.price[i])
        if o.is_buy[i]:
            reason = f"bid {price!r} above the grid's selling price {grid_buy!r}"
        else:
            reason = f"offer {price!r} below the grid's buying price {grid_sell!r}"
        raise OrdersFileError(int(self.lines[i]), reason, field="price")


# --------------------------------------------------------------------------------------------- header


def _split_header(data: bytes) -> tuple[bytes, int]:
    """The header line's bytes and the offset where the data rows start."""
    ends = [i for i in (data.find(b"\n"), data.find(b"\r")) if i >= 0]
    if not ends:
        return data, len(data)
    end = min(ends)
    start = end + 2 if data[end : end + 2] == b"\r\n" else end + 1
    return data[:end], start


def _parse_header(raw: bytes) -> tuple[str, ...]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise OrdersFileError(1, "not UTF-8 text") from None
    fields = next(csv.reader([text]), [])
    names = tuple(f.strip(_BLANK).lower() for f in fields)
    if not any(names):
        raise OrdersFileError(1, "no header; expected the columns side,price,quantity")
    unknown = [n for n in names if n not in COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        raise OrdersFileError(
            1,
            f"unknown column(s) {', '.join(map(repr, unknown))}; expected side, price, quantity "
            "and optionally id, interval",
        )
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise OrdersFileError(1, f"column(s) named twice: {', '.join(map(repr, dupes))}")
    missing = [n for n in COLUMNS if n not in names]
    if missing:
        raise OrdersFileError(
            1, f"missing column(s) {', '.join(map(repr, missing))}; the header needs side,price,quantity"
        )
    return names


# ------------------------------------------------------------------------------------ per-row checks


def _number(field: str, text: str, *, positive: bool) -> float:
    if _NUMBER_RE.fullmatch(text) is None:
        if text.strip(_BLANK).lower() in _NON_FINITE:
            raise MarketError(f"not a finite number: {text!r}", field=field)
        raise MarketError(f"not a number: {text!r}", field=field)
    value = float(text)
    if not math.isfinite(value):
        raise MarketError(f"not a finite number: {text!r}", field=field)
    if positive and not value > 0:
        raise MarketError(f"must be positive: {text!r}", field=field)
    return value


def _check_row(columns: Sequence[str], values: Sequence[str]) -> tuple[bool, float, float, str | None, str | None]:
    """Validate one row in file order; MarketError(field) names the first bad field."""
    is_buy, price, quantity, ident, interval = False, 0.0, 0.0, None, None
    for name, text in zip(columns, values, strict=True):
        if "\n" in text or "\r" in text:
            raise MarketError("a value may not span lines", field=name)
        if name == "side":
            side = text.strip(_BLANK).lower()
            if side not in ("buy", "sell"):
                raise MarketError(f"must be buy or sell: {text!r}", field=name)
            is_buy = side == "buy"
        elif name == "price":
            price = _number(name, text, positive=False)
        elif name == "quantity":
            quantity = _number(name, text, positive=True)
        elif name == "id":
            ident = text
        else:
            interval = text.strip(_BLANK)
            if not interval:
                raise MarketError("empty", field=name)
    return is_buy, price, quantity, ident, interval


def _row_error(line: int, columns: Sequence[str], values: Sequence[str]) -> OrdersFileError:
    try:
        _check_row(columns, values)
    except MarketError as exc:
        return OrdersFileError(line, str(exc), field=exc.field)
    raise AssertionError(f"line {line} was flagged but passes the row check")  # pragma: no cover


def _fields_error(line: int, expected: int, found: int) -> OrdersFileError:
    return OrdersFileError(line, f"expected {expected} fields, found {found}")


def _labels(raw: Sequence[str]) -> tuple[tuple[Label, ...], IntArray]:
    """Sorted distinct labels, and the position in them of each of ``raw``'s entries."""
    keys: list[Label]
    labels: tuple[Label, ...]
    if all(_INTEGER_RE.fullmatch(k) for k in raw):
        numbers = [int(k) for k in raw]
        keys, labels = list(numbers), tuple(sorted(set(numbers)))
    else:
        keys, labels = list(raw), tuple(sorted(set(raw)))
    rank = {k: j for j, k in enumerate(labels)}
    return labels, np.array([rank[k] for k in keys], dtype=np.int64)


# ------------------------------------------------------------------------------------- python engine


def _read_python(data: bytes, columns: tuple[str, ...], start: int) -> OrdersFile:
    body = data[start:]
    bad_utf8: int | None = None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        first_line = body.count(b"\n", 0, exc.start) + body.count(b"\r", 0, exc.start) - body.count(
            b"\r\n", 0, exc.start
        )
        bad_utf8 = 2 + first_line
        cut = max(body.rfind(b"\n", 0, exc.start), body.rfind(b"\r", 0, exc.start)) + 1
        text = body[:cut].decode("utf-8", errors="replace")
    ncol = len(columns)
    is_buy: list[bool] = []
    price: list[float] = []
    quantity: list[float] = []
    ids: list[str] = []
    raw_intervals: list[str] = []
    lines: list[int] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    previous = 0
    try:
        for row in reader:
            line = previous + 2  # header is line 1 and not part of ``text``
            previous = reader.line_num
            if not row or (len(row) == ncol and not any(row)):
                continue  # a blank line, or only empty fields
            if len(row) != ncol:
                raise _fields_error(line, ncol, len(row))
            try:
                b, p, q, ident, interval = _check_row(columns, row)
            except MarketError as exc:
                raise OrdersFileError(line, str(exc), field=exc.field) from None
            is_buy.append(b)
            price.append(p)
            quantity.append(q)
            if ident is not None:
                ids.append(ident)
            if interval is not None:
                raw_intervals.append(interval)
            lines.append(line)
    except csv.Error as exc:
        raise OrdersFileError(previous + 2, f"malformed CSV: {exc}") from None
    if bad_utf8 is not None:
        raise OrdersFileError(bad_utf8, "not UTF-8 text")
    orders = Orders.from_columns(is_buy=np.array(is_buy, dtype=np.bool_), price=price, quantity=quantity)
    intervals: IntArray | None = None
    labels: tuple[Label, ...] = ()
    if "interval" in columns:
        labels, intervals = _labels(raw_intervals)
    return OrdersFile(
        orders=orders,
        lines=np.array(lines, dtype=np.int64),
        columns=columns,
        intervals=intervals,
        labels=labels,
        id_column=ids if "id" in columns else None,
    )


# ------------------------------------------------------------------------------------ pyarrow engine
#
# pyarrow imports pandas (a noticeable start-up cost) the first time it converts anything to or from Python objects or
# numpy (``pa.array``, ``pa.scalar``, ``Array.to_numpy``), so arrays cross over through their buffers.


class _Fallback(Exception):
    """pyarrow refused the file: read it with the python engine, which names the line."""


def _combined(arr: Any) -> Any:
    return arr.combine_chunks() if hasattr(arr, "combine_chunks") else arr


def _np_bools(arr: Any) -> BoolArray:
    """A boolean arrow array without nulls as numpy."""
    a = _combined(arr)
    n, offset = len(a), a.offset
    if n == 0:
        return np.zeros(0, dtype=np.bool_)
    bits = np.frombuffer(a.buffers()[1], dtype=np.uint8)
    out: BoolArray = np.unpackbits(bits, count=offset + n, bitorder="little")[offset:].view(np.bool_)
    return out


def _np_numbers(arr: Any, dtype: type[np.generic]) -> npt.NDArray[Any]:
    """A fixed-width arrow array without nulls as a (writable) numpy array."""
    a = _combined(arr)
    n = len(a)
    if n == 0:
        return np.zeros(0, dtype=dtype)
    size = np.dtype(dtype).itemsize
    return np.frombuffer(a.buffers()[1], dtype=dtype, count=n, offset=a.offset * size).copy()


def _arrow_bools(pa: Any, mask: BoolArray) -> Any:
    bits = np.packbits(mask, bitorder="little")
    return pa.Array.from_buffers(pa.bool_(), mask.shape[0], [None, pa.py_buffer(bits)])


def _arrow_numbers(pa: Any, values: npt.NDArray[Any], valid: BoolArray | None = None) -> Any:
    kind = {np.dtype(np.float64): pa.float64(), np.dtype(np.int64): pa.int64()}[values.dtype]
    validity = None if valid is None else pa.py_buffer(np.packbits(valid, bitorder="little"))
    nulls = -1 if valid is not None else 0
    return pa.Array.from_buffers(kind, values.shape[0], [validity, pa.py_buffer(np.ascontiguousarray(values))], nulls)


def _arrow_strings(pa: Any, texts: Sequence[str]) -> Any:
    encoded = [t.encode() for t in texts]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
    return pa.Array.from_buffers(pa.large_string(), len(encoded), buffers)


def _table(data: bytes, columns: tuple[str, ...], start: int, threads: bool) -> tuple[Any, list[tuple[int, int]]]:
    import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
    import pyarrow.csv as pcsv  # type: ignore[import-untyped, unused-ignore]

    if data.startswith(b"\xef\xbb\xbf", start):  # pyarrow would drop a byte-order mark on line 2 unseen
        raise _Fallback("byte-order mark after the header")
    invalid: list[tuple[int, int]] = []  # (physical line, fields found) of rows with a wrong field count

    def on_invalid_row(row: Any) -> str:
        invalid.append((-1 if row.number is None else int(row.number) + 1, int(row.actual_columns)))
        return "skip"

    try:
        table = pcsv.read_csv(
            pa.BufferReader(pa.py_buffer(data).slice(start)),
            read_options=pcsv.ReadOptions(column_names=list(columns), use_threads=threads, block_size=1 << 22),
            parse_options=pcsv.ParseOptions(invalid_row_handler=on_invalid_row, ignore_empty_lines=False),
            convert_options=pcsv.ConvertOptions(
                column_types={name: pa.string() for name in columns}, strings_can_be_null=False
            ),
        )
    except pa.ArrowInvalid as exc:
        raise _Fallback(str(exc)) from None
    return table, invalid


def _read_pyarrow(data: bytes, columns: tuple[str, ...], start: int) -> OrdersFile:
    import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
    import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]

    table, invalid = _table(data, columns, start, threads=True)
    if invalid:  # a threaded read does not number the rows it skips: read again in one thread
        table, invalid = _table(data, columns, start, threads=False)
        if any(line < 0 for line, _ in invalid):  # pragma: no cover - pyarrow numbers rows without threads
            raise _Fallback("pyarrow did not number an invalid row")
    cols = {name: table.column(name) for name in columns}
    n = table.num_rows

    def bad_mask(name: str) -> BoolArray:
        col = cols[name]
        if name == "side":
            ok = _np_bools(pc.match_substring_regex(col, f"^{_SIDE}$"))
        elif name in ("price", "quantity"):
            ok = _np_bools(pc.match_substring_regex(col, f"^{_NUMBER}$"))
        elif name == "interval":
            ok = ~_np_bools(pc.match_substring_regex(col, "^[ \t]*$|[\r\n]"))
        else:
            ok = ~_np_bools(pc.match_substring_regex(col, "[\r\n]"))
        return ~ok

    bad_in = {name: bad_mask(name) for name in columns}
    bad = np.zeros(n, dtype=np.bool_)
    for name in columns:
        bad |= bad_in[name]
    blank = np.zeros(n, dtype=np.bool_)
    if bad.any():  # blank lines fail the side check: find them and let them pass
        blank = np.ones(n, dtype=np.bool_)
        for name in columns:
            blank &= _np_numbers(pc.utf8_length(cols[name]), np.int32) == 0
        bad &= ~blank

    def to_float(name: str) -> FloatArray:
        col, skip = cols[name], bad_in[name]
        if skip.any():  # error path: convert what is a number, to find the non-finite ones
            col = pc.filter(_combined(col), _arrow_bools(pa, ~skip))
        try:
            values = pc.cast(col, pa.float64())
        except pa.ArrowInvalid:
            values = pc.cast(pc.utf8_trim(col, characters=_BLANK), pa.float64())
        if not skip.any():
            return _np_numbers(values, np.float64)
        out = np.ones(n)
        out[~skip] = _np_numbers(values, np.float64)
        return out

    price = to_float("price")
    quantity = to_float("quantity")
    with np.errstate(invalid="ignore"):
        bad |= ~blank & (~np.isfinite(price) | ~np.isfinite(quantity) | ~(quantity > 0))

    if bad.any() or invalid:
        _raise_first(bad, invalid, table, columns, len(columns))
    # every side is buy or sell by now: the buys are the ones with a u (a plain search, cheaper than a regex)
    is_buy = _np_bools(pc.match_substring(cols["side"], "u")) | _np_bools(pc.match_substring(cols["side"], "U"))
    keep = np.flatnonzero(~blank) if blank.any() else None
    lines = np.arange(2, n + 2, dtype=np.int64)
    if keep is not None:
        is_buy, price, quantity, lines = is_buy[keep], price[keep], quantity[keep], lines[keep]
        indices = _arrow_numbers(pa, keep.astype(np.int64))
        cols = {name: pc.take(_combined(col), indices) for name, col in cols.items()}
    orders = Orders.from_columns(is_buy=is_buy, price=price, quantity=quantity)
    intervals: IntArray | None = None
    labels: tuple[Label, ...] = ()
    if "interval" in columns:
        encoded = _combined(pc.dictionary_encode(pc.utf8_trim(cols["interval"], characters=_BLANK)))
        labels, rank = _labels(encoded.dictionary.to_pylist())
        intervals = rank[_np_numbers(encoded.indices, np.int32)]
    return OrdersFile(orders, lines, columns, intervals, labels, cols.get("id"))


def _raise_first(
    bad: BoolArray, invalid: list[tuple[int, int]], table: Any, columns: tuple[str, ...], ncol: int
) -> None:
    first_invalid = min(invalid) if invalid else None
    if bad.any():
        r = int(np.argmax(bad))
        line = r + 2
        for skipped, _ in sorted(invalid):  # rows with a wrong field count were skipped: shift past them
            if skipped <= line:
                line += 1
        if first_invalid is None or line < first_invalid[0]:
            values = [str(table.column(name)[r].as_py()) for name in columns]
            raise _row_error(line, columns, values)
    assert first_invalid is not None
    raise _fields_error(first_invalid[0], ncol, first_invalid[1])


# ------------------------------------------------------------------------------------------- public


def _pyarrow_available() -> bool:
    try:
        import pyarrow.csv  # type: ignore[import-untyped, unused-ignore]  # noqa: F401
    except ImportError:
        return False
    return True


def read_orders_csv(source: bytes | str | Path, *, engine: Engine = "auto") -> OrdersFile:
    """Read an orders file (its bytes, or a path); raise :class:`OrdersFileError` at the first bad line."""
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    header, start = _split_header(data)
    columns = _parse_header(header)
    if engine == "python" or (engine == "auto" and not _pyarrow_available()) or start >= len(data):
        return _read_python(data, columns, start)
    try:
        return _read_pyarrow(data, columns, start)
    except _Fallback:
        return _read_python(data, columns, start)


def write_fills_csv(
    path: str | Path,
    book: OrdersFile,
    fills: FloatArray,
    trade_prices: FloatArray,
    *,
    engine: Engine = "auto",
) -> None:
    """Write ``id,side,price,quantity,fill,trade_price`` per order (then ``interval`` if the book has one), in
    file order; ``trade_price`` is empty for orders that did not trade."""
    o = book.orders
    head = ["id", "side", "price", "quantity", "fill", "trade_price"]
    if book.intervals is not None:
        head.append("interval")
    if engine == "pyarrow" or (engine == "auto" and _pyarrow_available()):
        _write_fills_pyarrow(path, book, fills, trade_prices, head)
        return
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(head)
        labels = book.labels
        codes = book.intervals.tolist() if book.intervals is not None else None
        rows = zip(
            book.ids(), o.is_buy.tolist(), o.price.tolist(), o.quantity.tolist(), fills.tolist(),
            trade_prices.tolist(), strict=True,
        )
        for i, (ident, b, p, q, f, t) in enumerate(rows):
            row: list[object] = [ident, "buy" if b else "sell", p, q, f, "" if math.isnan(t) else t]
            if codes is not None:
                row.append(labels[codes[i]])
            writer.writerow(row)


def _write_fills_pyarrow(path: str | Path, book: OrdersFile, fills: FloatArray, trade_prices: FloatArray,
                         head: list[str]) -> None:
    import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
    import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]
    import pyarrow.csv as pcsv  # type: ignore[import-untyped, unused-ignore]

    o = book.orders
    sides = pc.take(_arrow_strings(pa, ["buy", "sell"]), _arrow_numbers(pa, (~o.is_buy).astype(np.int64)))
    ids = book.id_column if book.id_column is not None else _arrow_numbers(pa, book.lines)
    arrays = [
        ids,
        sides,
        _arrow_numbers(pa, o.price),
        _arrow_numbers(pa, o.quantity),
        _arrow_numbers(pa, fills),
        _arrow_numbers(pa, trade_prices, valid=~np.isnan(trade_prices)),  # empty field when it did not trade
    ]
    if book.intervals is not None:
        labels = _arrow_strings(pa, [str(label) for label in book.labels])
        arrays.append(pc.take(labels, _arrow_numbers(pa, book.intervals.astype(np.int64))))
    table = pa.table(dict(zip(head, arrays, strict=True)))
    text = [a for a in (ids, arrays[-1]) if pa.types.is_string(a.type) or pa.types.is_large_string(a.type)]
    plain = not any(pc.any(pc.match_substring_regex(a, '[,"\r\n]')).as_py() for a in text)
    with open(path, "wb") as out:
        out.write((",".join(head) + "\n").encode())
        options = pcsv.WriteOptions(include_header=False, quoting_style="none" if plain else "needed")
        pcsv.write_csv(table, out, write_options=options)
