"""Hierarchical (fractal) markets: microgrids clear internally, pass their net position up, the grid takes the rest.

Seed paper 004, Section III-B3: "If there is surplus demand or supply not fulfilled in the system, the
microgrid enters a similar bidding process among the microgrids it is connected to before defaulting to the
main grid if there is still surplus. The cost of the energy from this auction is passed on to each microgrid
individually through a uniform price correction." Seed paper 002: every microgrid is a node of a containing
grid and shares only its aggregate market position with it, at any depth (building, street, city).

The model
---------
A :class:`MarketNode` is a market: its own agents' orders (``orders``) and any number of child markets
(``children``), to any depth. :func:`clear_hierarchy` works bottom-up, then settles top-down:

1. **Clear locally.** A node's market holds its own orders followed by the aggregate orders of its children
   (step 2); it is cleared by the ``clearer`` (default: the uniform-price auction,
   :func:`transactive.market.auction.clear`, with the reserve prices; any callable, e.g. AA bidding rounds).
2. **Aggregate.** What a node's market leaves unmatched, ``u_i = q_i - fill_i`` for each of its orders, goes
   up as **one aggregate buy order** (quantity ``U_b`` = the sum of unmatched buy quantities) and/or **one
   aggregate sell order** (``U_s``) to the parent's market. In the paper's full-overlap mode at most one of
   them is non-zero; in the crossing mode both can be when bids and offers did not cross (they can then
   never both trade in the parent: a uniform auction never accepts a bid below an accepted offer). The
   aggregate order's limit price is set by :class:`AggregatePrice`:

   * ``GRID`` (default): ``P_gb`` for the aggregate buy, ``P_gs`` for the aggregate sell: the microgrid as
     a whole will pay up to what the main grid charges and accept down to what it pays, its real
     alternative; in the paper's experiment every agent's limit is that grid price too;
   * ``LIMIT``: the tightest limit among the orders it aggregates: the lowest unmatched buy limit, the
     highest unmatched sell limit, so the aggregate never trades at a price one of its members would refuse.

   Aggregates below :data:`DUST` kWh (floating-point remainders) are not sent up; that energy goes straight
   to the main grid.
3. **Main grid.** What the root's market leaves unmatched is bought from the main grid at ``P_gb`` (reserve
   ``grid_buy``) or sold to it at ``P_gs`` (``grid_sell``).
4. **Uniform price correction (settling top-down).** Every kWh of an aggregate order ends up matched in the
   parent's market, higher up, or with the grid; let ``E_peer``, ``E_grid`` (``E_peer + E_grid = U``) be that
   split and ``C_peer``, ``C_grid`` the money for it (paid for a buy, received for a sell). Each order ``i``
   of the node's market whose energy went up (``u_i > 0``) gets the aggregate's average terms for its share::

       energy with peers   = u_i * E_peer / U          money with peers = u_i * C_peer / U
       energy with grid    = u_i * E_grid / U          money with grid  = u_i * C_grid / U

   so every member pays (receives) the same upstream price ``(C_peer + C_grid) / U`` per kWh, and the money
   balances exactly: the members' upstream payments add up to what the aggregate paid upstairs. A child's
   aggregate order is itself such a member; its totals are passed to the child, which corrects its own
   members the same way, down to the leaves.

"Local" energy of an agent is what it matched in its own node's market; "peers" what it matched, through the
aggregates, in any market above (with other microgrids); "grid" what the main grid supplied or took.
Money is reported as positive amounts (``paid`` by buyers, ``received`` by sellers); per-agent
``payments`` are signed like :meth:`ClearingResult.payments` (positive paid, negative received).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from transactive.market.auction import ClearingResult, Matching, ReservePrices, clear
from transactive.market.orders import FloatArray, MarketError, Orders

__all__ = [
    "DUST",
    "AggregatePrice",
    "Clearer",
    "HierarchyResult",
    "LevelReport",
    "MarketNode",
    "NodeReport",
    "RouteTotals",
    "clear_hierarchy",
]

#: aggregate quantities at or below this (kWh) are floating-point dust and go straight to the grid
DUST = 1e-9

#: clears one market: ``(orders, node name) -> ClearingResult`` with fills and prices per order, in order
Clearer = Callable[[Orders, str], ClearingResult]


class AggregatePrice(StrEnum):
    GRID = "grid"  #: aggregate buy at P_gb, aggregate sell at P_gs (default)
    LIMIT = "limit"  #: the tightest limit of the orders aggregated


@dataclass(frozen=True, slots=True)
class MarketNode:
    """A market: its own agents' orders (limit prices and quantities) and its child markets (microgrids)."""

    name: str
    orders: Orders | None = None
    children: Sequence[MarketNode] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "children", tuple(self.children))

    def walk(self) -> list[tuple[MarketNode, int]]:
        """Every node of the tree with its depth (this node 0), parents before children."""
        out: list[tuple[MarketNode, int]] = []
        stack: list[tuple[MarketNode, int]] = [(self, 0)]
        while stack:
            node, depth = stack.pop()
            out.append((node, depth))
            stack.extend((c, depth + 1) for c in reversed(node.children))
        return out


@dataclass(frozen=True, slots=True)
class RouteTotals:
    """Energy (kWh) and money of one group of orders (a node's buyers, or its sellers), by route."""

    local: float
    peers: float
    grid: float
    money_local: float
    money_peers: float
    money_grid: float

    @property
    def energy(self) -> float:
        return self.local + self.peers + self.grid

    @property
    def money(self) -> float:
        return self.money_local + self.money_peers + self.money_grid

    @property
    def average_price(self) -> float | None:
        """Money per kWh over all routes (None without energy)."""
        return self.money / self.energy if self.energy > 0 else None

    @property
    def p2p_average_price(self) -> float | None:
        """Money per kWh over the energy traded locally and with peers, the grid left out."""
        e = self.local + self.peers
        return (self.money_local + self.money_peers) / e if e > 0 else None


@dataclass(frozen=True, slots=True, eq=False)
class NodeReport:
    """One market of the tree after clearing and settling."""

    name: str
    depth: int
    #: the orders cleared in this market: the node's own orders, then its children's aggregate orders
    market: Orders
    result: ClearingResult
    #: the number of own orders (the first rows of ``market``)
    own: int
    #: for each aggregate row of ``market`` (after the own rows): the child it came from
    aggregate_of: tuple[str, ...]
    #: per market row: energy matched in this market, and the part that went up (``q - fill``)
    row_local: FloatArray
    row_up: FloatArray
    #: per market row: energy and money (positive amounts) of the part that went up, split peers / grid
    row_peers: FloatArray
    row_grid: FloatArray
    row_money_local: FloatArray
    row_money_peers: FloatArray
    row_money_grid: FloatArray
    #: this node's aggregate orders to its parent (or the grid, at the root): quantity and limit price
    up_buy: float
    up_sell: float
    up_buy_price: float | None
    up_sell_price: float | None
    #: what this node's aggregates got upstairs (energy split, money as positive amounts)
    up_buy_totals: RouteTotals = field(default_factory=lambda: RouteTotals(0, 0, 0, 0, 0, 0))
    up_sell_totals: RouteTotals = field(default_factory=lambda: RouteTotals(0, 0, 0, 0, 0, 0))

    def _totals(self, buy: bool) -> RouteTotals:
        rows = np.zeros(self.market.is_buy.shape[0], dtype=np.bool_)
        rows[: self.own] = True
        rows &= self.market.is_buy if buy else ~self.market.is_buy
        return RouteTotals(
            float(self.row_local[rows].sum()),
            float(self.row_peers[rows].sum()),
            float(self.row_grid[rows].sum()),
            float(self.row_money_local[rows].sum()),
            float(self.row_money_peers[rows].sum()),
            float(self.row_money_grid[rows].sum()),
        )

    @property
    def bought(self) -> RouteTotals:
        """What this node's own buyers bought, by route."""
        return self._totals(True)

    @property
    def sold(self) -> RouteTotals:
        """What this node's own sellers sold, by route."""
        return self._totals(False)

    @property
    def payments(self) -> FloatArray:
        """Per own order: money paid (positive) or received (negative) over all routes."""
        money = (self.row_money_local + self.row_money_peers + self.row_money_grid)[: self.own]
        return np.where(self.market.is_buy[: self.own], money, -money)

    @property
    def matched(self) -> float:
        """Energy matched in this node's market (each side)."""
        return float(self.result.quantity)


@dataclass(frozen=True, slots=True)
class LevelReport:
    """All markets at one depth of the tree (0 = the root)."""

    depth: int
    nodes: tuple[str, ...]
    #: energy matched in these markets
    quantity: float
    #: money that changed hands in them (buyers' side)
    value: float

    @property
    def average_price(self) -> float | None:
        return self.value / self.quantity if self.quantity > 0 else None


@dataclass(frozen=True, slots=True, eq=False)
class HierarchyResult:
    root: str
    #: every node's report by name, parents before children
    nodes: dict[str, NodeReport]
    levels: tuple[LevelReport, ...]
    reserve: ReservePrices
    #: energy bought from / sold to the main grid, and the money for it
    grid_import: float
    grid_export: float

    @property
    def grid_paid(self) -> float:
        return self.grid_import * self.reserve.grid_buy

    @property
    def grid_received(self) -> float:
        return self.grid_export * self.reserve.grid_sell


@dataclass(slots=True)
class _Cleared:
    node: MarketNode
    depth: int
    market: Orders
    result: ClearingResult
    own: int
    aggregate_of: tuple[str, ...]
    child_rows: dict[tuple[str, bool], int]  # (child name, is_buy) -> market row
    children: list[_Cleared]
    up_buy: float
    up_sell: float
    up_buy_price: float | None
    up_sell_price: float | None


@dataclass(frozen=True, slots=True)
class _Unit:
    """What one kWh of an aggregate got upstairs: energy with peers / grid, money with peers / grid."""

    peers: float
    grid: float
    money_peers: float
    money_grid: float


_EMPTY = Orders.from_columns(is_buy=np.zeros(0, dtype=np.bool_), price=np.zeros(0), quantity=np.zeros(0))


def _concat(parts: list[Orders]) -> Orders:
    parts = [p for p in parts if len(p)]
    if not parts:
        return _EMPTY
    ids: list[str] | None = []
    for p in parts:
        if p.ids is None:
            ids = None
            break
        assert ids is not None
        ids.extend(p.ids)
    return Orders.from_columns(
        is_buy=np.concatenate([p.is_buy for p in parts]),
        price=np.concatenate([p.price for p in parts]),
        quantity=np.concatenate([p.quantity for p in parts]),
        ids=ids,
    )


def _clear_up(node: MarketNode, depth: int, clearer: Clearer, reserve: ReservePrices,
              aggregate_price: AggregatePrice) -> _Cleared:
    children = [_clear_up(c, depth + 1, clearer, reserve, aggregate_price) for c in node.children]
    own = node.orders if node.orders is not None else _EMPTY
    agg_side: list[bool] = []
    agg_price: list[float] = []
    agg_qty: list[float] = []
    agg_of: list[str] = []
    child_rows: dict[tuple[str, bool], int] = {}
    for c in children:
        for is_buy, qty, price in ((True, c.up_buy, c.up_buy_price), (False, c.up_sell, c.up_sell_price)):
            if qty > DUST and price is not None:
                child_rows[(c.node.name, is_buy)] = len(own) + len(agg_side)
                agg_side.append(is_buy)
                agg_price.append(price)
                agg_qty.append(qty)
                agg_of.append(c.node.name)
    aggregates = Orders.from_columns(
        is_buy=np.array(agg_side, dtype=np.bool_),
        price=np.array(agg_price, dtype=np.float64),
        quantity=np.array(agg_qty, dtype=np.float64),
        ids=[f"{name}/{'buy' if b else 'sell'}" for name, b in zip(agg_of, agg_side, strict=True)]
        if own.ids is not None or not len(own)
        else None,
    )
    market = _concat([own, aggregates])
    if market.is_buy.any() and (~market.is_buy).any():
        result = clearer(market, node.name)
        if result.fills.shape != (len(market),):
            raise MarketError(f"the clearer returned {result.fills.shape[0]} fills for {len(market)} orders",
                              field="clearer")
    else:
        result = clear(market, reserve=reserve)  # one side only: nothing can match
    up = market.quantity - result.fills
    buy_up = market.is_buy & (up > DUST)
    sell_up = ~market.is_buy & (up > DUST)
    up_buy = float(up[market.is_buy].sum())
    up_sell = float(up[~market.is_buy].sum())
    if aggregate_price is AggregatePrice.GRID:
        up_buy_price: float | None = reserve.grid_buy
        up_sell_price: float | None = reserve.grid_sell
    else:
        up_buy_price = float(market.price[buy_up].min()) if buy_up.any() else None
        up_sell_price = float(market.price[sell_up].max()) if sell_up.any() else None
    return _Cleared(node, depth, market, result, len(own), tuple(agg_of), child_rows, children,
                    up_buy, up_sell, up_buy_price, up_sell_price)


def _grid_totals(quantity: float, is_buy: bool, reserve: ReservePrices) -> RouteTotals:
    price = reserve.grid_buy if is_buy else reserve.grid_sell
    return RouteTotals(0.0, 0.0, quantity, 0.0, 0.0, quantity * price)


def _settle(c: _Cleared, buy_unit: _Unit, sell_unit: _Unit, reserve: ReservePrices,
            out: dict[str, NodeReport], totals: tuple[RouteTotals, RouteTotals]) -> None:
    m = c.market
    fills = c.result.fills
    local_money = np.where(fills > 0, fills * np.nan_to_num(c.result.prices), 0.0)
    up = np.maximum(m.quantity - fills, 0.0)
    grid_unit_b = _Unit(0.0, 1.0, 0.0, reserve.grid_buy)
    grid_unit_s = _Unit(0.0, 1.0, 0.0, reserve.grid_sell)
    # an aggregate that was dust never went up: that energy is the grid's
    ub = buy_unit if c.up_buy > DUST else grid_unit_b
    us = sell_unit if c.up_sell > DUST else grid_unit_s
    b = m.is_buy
    row_peers = up * np.where(b, ub.peers, us.peers)
    row_grid = up * np.where(b, ub.grid, us.grid)
    row_money_peers = up * np.where(b, ub.money_peers, us.money_peers)
    row_money_grid = up * np.where(b, ub.money_grid, us.money_grid)
    out[c.node.name] = NodeReport(
        name=c.node.name,
        depth=c.depth,
        market=m,
        result=c.result,
        own=c.own,
        aggregate_of=c.aggregate_of,
        row_local=fills,
        row_up=up,
        row_peers=row_peers,
        row_grid=row_grid,
        row_money_local=local_money,
        row_money_peers=row_money_peers,
        row_money_grid=row_money_grid,
        up_buy=c.up_buy,
        up_sell=c.up_sell,
        up_buy_price=c.up_buy_price,
        up_sell_price=c.up_sell_price,
        up_buy_totals=totals[0],
        up_sell_totals=totals[1],
    )
    for child in c.children:
        units: list[_Unit] = []
        child_totals: list[RouteTotals] = []
        for is_buy in (True, False):
            row = c.child_rows.get((child.node.name, is_buy))
            if row is None:  # dust (or nothing): straight to the grid
                units.append(grid_unit_b if is_buy else grid_unit_s)
                child_totals.append(_grid_totals(child.up_buy if is_buy else child.up_sell, is_buy, reserve))
                continue
            q = float(m.quantity[row])
            # from the child's view, energy matched in this (the parent's) market is with peers
            t = RouteTotals(
                local=0.0,
                peers=float(fills[row] + row_peers[row]),
                grid=float(row_grid[row]),
                money_local=0.0,
                money_peers=float(local_money[row] + row_money_peers[row]),
                money_grid=float(row_money_grid[row]),
            )
            child_totals.append(t)
            units.append(_Unit(t.peers / q, t.grid / q, t.money_peers / q, t.money_grid / q))
        _settle(child, units[0], units[1], reserve, out, (child_totals[0], child_totals[1]))


def clear_hierarchy(
    root: MarketNode,
    *,
    reserve: ReservePrices | None = None,
    clearer: Clearer | None = None,
    matching: Matching | str = Matching.CROSSING,
    aggregate_price: AggregatePrice | str = AggregatePrice.GRID,
) -> HierarchyResult:
    """Clear a tree of markets bottom-up, route the rest to the main grid, settle top-down.

    ``reserve`` defaults to the paper's grid prices (:meth:`ReservePrices.paper`). ``clearer`` clears one
    market (default: :func:`~transactive.market.auction.clear` with ``matching`` and the reserve prices).
    Node names must be unique. Every limit must lie in the reserve band.
    """
    band = reserve if reserve is not None else ReservePrices.paper()
    names = [n.name for n, _ in root.walk()]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise MarketError(f"market node names must be unique; repeated: {', '.join(dup)}", field="name")
    mode = Matching(matching)

    def default_clearer(orders: Orders, name: str) -> ClearingResult:
        return clear(orders, matching=mode, reserve=band)

    top = _clear_up(root, 0, clearer or default_clearer, band, AggregatePrice(aggregate_price))
    nodes: dict[str, NodeReport] = {}
    _settle(top, _Unit(0.0, 1.0, 0.0, band.grid_buy), _Unit(0.0, 1.0, 0.0, band.grid_sell), band, nodes,
            (_grid_totals(top.up_buy, True, band), _grid_totals(top.up_sell, False, band)))
    ordered = {name: nodes[name] for name in names}
    depths = sorted({r.depth for r in ordered.values()})
    levels = []
    for d in depths:
        at = [r for r in ordered.values() if r.depth == d]
        value = sum(float(r.row_money_local[r.market.is_buy].sum()) for r in at)
        levels.append(LevelReport(d, tuple(r.name for r in at), sum(r.matched for r in at), value))
    grid_import = sum(float(r.row_grid[: r.own][r.market.is_buy[: r.own]].sum()) for r in ordered.values())
    grid_export = sum(float(r.row_grid[: r.own][~r.market.is_buy[: r.own]].sum()) for r in ordered.values())
    return HierarchyResult(root.name, ordered, tuple(levels), band, grid_import, grid_export)
