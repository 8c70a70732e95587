"""The battery's state-of-charge column is the state at the end of the interval it reports, not one interval
ahead: a transaction is booked when agreed (an interval before delivery), and the record of an interval must not
show it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from transactive.emix import Side
from ven.personalities.battery import BatteryPersonality

H = timedelta(hours=1)
T0 = datetime(2026, 6, 21, 10, tzinfo=UTC)


def test_the_soc_of_an_interval_ignores_what_is_booked_for_the_next() -> None:
    battery = BatteryPersonality(5.0, energy_kwh=10.0, soc=0.5, efficiency=1.0)
    battery.on_transaction(T0, Side.BUY, 2.0, 0.1)  # interval 0: charge 2 kWh -> 70 %
    battery.on_transaction(T0 + H, Side.SELL, 4.0, 0.3)  # interval 1, agreed before interval 0 is metered
    assert battery.metered(T0, H).bought_kwh == pytest.approx(2.0)
    assert battery.state_of_charge_after(T0) == pytest.approx(0.7)  # not 0.3: interval 1's sale is not done yet
    assert battery.metered(T0 + H, H).sold_kwh == pytest.approx(4.0)
    assert battery.state_of_charge_after(T0 + H) == pytest.approx(0.3)


def test_with_losses_the_soc_takes_back_exactly_what_the_later_booking_moved() -> None:
    battery = BatteryPersonality(5.0, energy_kwh=10.0, soc=0.5, efficiency=0.9)
    battery.on_transaction(T0 + H, Side.BUY, 3.0, 0.1)
    battery.on_transaction(T0 + 2 * H, Side.SELL, 1.0, 0.3)
    battery.metered(T0, H)
    assert battery.state_of_charge_after(T0) == pytest.approx(0.5)
    battery.metered(T0 + H, H)
    assert battery.state_of_charge_after(T0 + H) == pytest.approx(0.5 + 3.0 * 0.9 / 10)
