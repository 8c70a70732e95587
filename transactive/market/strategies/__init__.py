"""Bidding strategies for the periodic double auction: pure functions of the market state.

* :mod:`.fixed`: bid a given price, clipped to the own limit;
* :mod:`.zic`: zero-intelligence constrained random bids (Gode & Sunder 1993);
* :mod:`.aa`: adaptive aggressiveness (Vytelingum et al. 2008) as the seed paper uses it, with every
  interpretation of the paper's equations (2), (3) and Algorithm 1 named and documented;
* :mod:`.rounds`: the paper's procedure for one interval (bid, clear, learn, rebid until the price settles).

No strategy keeps state between calls; randomness comes only from a ``numpy.random.Generator`` argument.
"""

from transactive.market.strategies.aa import (
    AAParams,
    AAVariant,
    FreeMove,
    LearningRule,
    StopRule,
    aa_prices,
    aggressiveness_for,
    curve_prices,
    filled_orders,
    next_aggressiveness,
    shape,
    update_aggressiveness,
)
from transactive.market.strategies.fixed import fixed_prices
from transactive.market.strategies.rounds import RoundsResult, crossed, grid_limits, run_rounds
from transactive.market.strategies.zic import zic_prices

__all__ = [
    "AAParams",
    "AAVariant",
    "FreeMove",
    "RoundsResult",
    "LearningRule",
    "StopRule",
    "aa_prices",
    "aggressiveness_for",
    "crossed",
    "curve_prices",
    "filled_orders",
    "fixed_prices",
    "grid_limits",
    "next_aggressiveness",
    "run_rounds",
    "shape",
    "update_aggressiveness",
    "zic_prices",
]
