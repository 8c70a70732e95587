"""``transactive market``: the market engine from the command line (``market clear`` for periodic auctions)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from transactive.cli._io import UnreadableFile, read_input, reserve_prices, usage

__all__ = ["add_parser", "run"]

_EPILOG = """\
commands:
  clear       clear a periodic double auction (one per delivery interval) from a CSV file of orders

examples:
  transactive market clear orders.csv
  transactive market clear orders.csv --json

exit codes: 0 success, 1 a bad row in the orders file, 2 usage error or an unreadable file.
"""

#: the largest price (either sign) and quantity ``market clear`` takes: far beyond any real market, small
#: enough that sums over millions of orders and midpoints of prices stay finite
LIMIT = 1e12

_CLEAR_EPILOG = """\
ORDERS.csv has the header side,price,quantity and optionally id and interval, in any order (names in any
case, no other columns); one order per line: side is buy or sell (any case), price a finite number (money
per kWh) of at most 1e12 either way, quantity a positive number (kWh) of at most 1e12 (larger numbers are
refused as bad rows: sums and prices stay finite, so --json is always valid JSON). Orders earlier in the
file rank first among equal prices.
Each distinct interval value is a separate auction; intervals are reported in sorted order.

Uniform price (pay-as-clear): bids sorted by price descending, offers ascending; the matched quantity is
the largest at which demand meets supply (equal prices trade), the marginal order on each side is filled
in part, and the price is the midpoint of the lowest accepted bid and the highest accepted offer.
Pay-as-bid: every matched order trades at its own price; "price" is the buyers' volume-weighted average.

output: per interval the clearing price (null/none when nothing trades), the matched quantity, the number
of matched orders, demand and supply. --json prints {"price", "quantity", "matched_orders", ...} for one
interval, a list of such objects, each with "interval", when the file has several intervals.

examples:
  transactive market clear orders.csv
  transactive market clear orders.csv --json --mechanism pay-as-bid
  transactive market clear orders.csv --tie-rule pro-rata --fills fills.csv
  transactive market clear orders.csv --reserve 0.189,0.032     grid sells at 18.9 p/kWh, buys at 3.2 p/kWh

exit codes: 0 success (also when nothing trades), 1 a bad row (the message names the line, e.g.
"orders.csv: line 17: price: not a number: 'abc'"), 2 usage error or an unreadable file.
"""


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "market",
        help="market engine: clear periodic double auctions from a CSV file of orders",
        description="The market engine: periodic double auctions (uniform price or pay-as-bid).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.set_defaults(run=lambda args: usage(p))
    group = p.add_subparsers(dest="market_command", metavar="COMMAND")
    c = group.add_parser(
        "clear",
        help="clear a periodic double auction per delivery interval from ORDERS.csv",
        description="Clear the orders of ORDERS.csv: one periodic double auction per delivery interval.",
        epilog=_CLEAR_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    c.add_argument("orders", metavar="ORDERS.csv", help="the orders ('-' reads standard input)")
    c.add_argument(
        "--mechanism",
        choices=("uniform", "pay-as-bid"),
        default="uniform",
        help="uniform (pay-as-clear, the default) or pay-as-bid",
    )
    c.add_argument(
        "--tie-rule",
        choices=("time", "pro-rata"),
        default="time",
        help="equal prices at the margin: earlier orders first (the default) or shared pro rata",
    )
    c.add_argument(
        "--matching",
        choices=("crossing", "full-overlap"),
        default="crossing",
        help="crossing (trade while bid >= offer, the default) or full-overlap (match min(demand, supply))",
    )
    c.add_argument(
        "--reserve",
        metavar="BUY,SELL",
        type=reserve_prices,
        help="grid prices: the grid sells at BUY and buys at SELL; bids above BUY or offers below SELL are "
        "bad rows, and unmatched demand/supply goes to the grid",
    )
    c.add_argument("--fills", metavar="OUT.csv", help="write id,side,price,quantity,fill,trade_price per order")
    c.add_argument("--json", action="store_true", help="print JSON instead of text")
    c.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from transactive.market.auction import ReservePrices, clear
    from transactive.market.csvio import OrdersFileError, read_orders_csv, write_fills_csv
    from transactive.market.orders import MarketError

    prog = "transactive market clear"
    try:
        data = read_input(args.orders)
    except UnreadableFile as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    name = "<stdin>" if args.orders == "-" else args.orders
    reserve = ReservePrices(grid_buy=args.reserve[0], grid_sell=args.reserve[1]) if args.reserve else None
    options: dict[str, Any] = {
        "mechanism": args.mechanism,
        "tie_rule": args.tie_rule,
        "matching": args.matching,
        "reserve": reserve,
    }
    try:
        book = read_orders_csv(data)
        if reserve is not None:
            book.check_reserve(reserve.grid_buy, reserve.grid_sell)
        orders = book.orders
        n = len(orders)
        _check_bounds(book)
        if book.intervals is None or not book.labels:
            groups: list[tuple[object, Any]] = [(None, np.arange(n))]
        else:
            order = np.argsort(book.intervals, kind="stable")
            bounds = np.searchsorted(book.intervals[order], np.arange(len(book.labels) + 1))
            groups = [(label, order[bounds[j] : bounds[j + 1]]) for j, label in enumerate(book.labels)]
        fills = np.zeros(n)
        prices = np.full(n, np.nan)
        summaries: list[dict[str, Any]] = []
        for label, positions in groups:
            part = orders if len(groups) == 1 else orders.take(positions)
            result = clear(part, **options)
            fills[positions] = result.fills
            prices[positions] = result.prices
            buys = part.is_buy
            summary: dict[str, Any] = {} if label is None else {"interval": label}
            summary.update(result.as_dict())
            summary["demand"] = float(part.quantity[buys].sum())
            summary["supply"] = float(part.quantity[~buys].sum())
            summary["orders"] = len(part)
            summary["mechanism"] = str(result.mechanism)
            summaries.append(summary)
    except OrdersFileError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 1
    except MarketError as exc:  # pragma: no cover - the file checks come first
        print(f"{prog}: {name}: {exc}", file=sys.stderr)
        return 1
    if args.fills:
        try:
            write_fills_csv(args.fills, book, fills, prices)
        except OSError as exc:
            print(f"{prog}: {args.fills}: cannot write ({exc.strerror or exc})", file=sys.stderr)
            return 2
    if args.json:
        payload: Any = summaries if len(summaries) > 1 else summaries[0]
        json.dump(payload, sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
    else:
        for summary in summaries:
            print(_text(summary, reserve is not None))
    return 0


def _check_bounds(book: Any) -> None:
    """Refuse the first order whose price or quantity is beyond :data:`LIMIT` (an ``OrdersFileError`` naming
    its line and field)."""
    import numpy as np

    from transactive.market.csvio import OrdersFileError

    o = book.orders
    for field, values in (("price", np.abs(o.price)), ("quantity", o.quantity)):
        big = values > LIMIT
        if big.any():
            i = int(np.argmax(big))
            line = int(book.lines[i])
            raise OrdersFileError(line, f"at most {LIMIT:g} in absolute value, not {float(getattr(o, field)[i]):g}",
                                  field=field)


def _num(x: float) -> str:
    return f"{x:.6g}"


def _text(s: dict[str, Any], grid: bool) -> str:
    head = f"interval {s['interval']}: " if "interval" in s else ""
    price = "none (no trade)" if s["price"] is None else _num(s["price"])
    text = (
        f"{head}price {price}  quantity {_num(s['quantity'])}  matched orders {s['matched_orders']}  "
        f"demand {_num(s['demand'])}  supply {_num(s['supply'])}"
    )
    if grid:
        text += f"  grid import {_num(s['grid_import'])}  grid export {_num(s['grid_export'])}"
    return text
