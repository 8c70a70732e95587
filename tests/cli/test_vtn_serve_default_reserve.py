"""``vtn serve`` without ``--reserve`` runs a realistic market: the main grid sells at 0.30 and buys at 0.05 per
kWh, the band [0.05, 0.30] is published in the market context, and tenders outside it are refused;
``--reserve none`` is the market without a grid (the band [0, 10])."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest

from tests.vtn.conftest import start_vtn
from transactive.cli import build_parser
from transactive.market import DEFAULT_RESERVE
from transactive.services import RequestRefusedError
from transactive.transport.http import HttpTransport
from transactive.ven import join_market
from transactive.vtn.app import DEFAULT_MARKET_CONTEXT


def test_the_default_reserve_is_a_retail_tariff_and_an_export_rate() -> None:
    parser = build_parser()
    assert parser.parse_args(["vtn", "serve", "--data-dir", "d"]).reserve == DEFAULT_RESERVE == (0.30, 0.05)
    assert parser.parse_args(["vtn", "serve", "--data-dir", "d", "--reserve", "none"]).reserve is None
    assert parser.parse_args(["vtn", "serve", "--data-dir", "d", "--reserve", "0.4,0.1"]).reserve == (0.4, 0.1)


def test_the_library_runs_the_same_market_as_the_command_line(tmp_path: Path) -> None:
    from transactive.vtn.app import VtnOptions

    options = VtnOptions(data_dir=tmp_path)
    assert options.reserve == DEFAULT_RESERVE
    config = options.market_config()
    assert (config.min_price, config.max_price) == (Decimal("0.05"), Decimal("0.3"))
    assert VtnOptions(data_dir=tmp_path, reserve=None).market_config().max_price == Decimal("10")


async def _market(url: str) -> tuple[object, object]:
    async with HttpTransport(url, timeout=5) as transport:
        home = await join_market(transport, "home-1", DEFAULT_MARKET_CONTEXT)
        market = await home.market_context()
        return market.reserve, (market.min_price, market.max_price)


async def test_vtn_serve_without_reserve_publishes_the_default_band(tmp_path: Path) -> None:
    vtn = start_vtn(tmp_path / "vtn", "--interval-seconds", "5")
    try:
        async with HttpTransport(vtn.url, timeout=5) as transport:
            home = await join_market(transport, "home-1", DEFAULT_MARKET_CONTEXT)
            market = await home.market_context()
            assert market.reserve is not None
            assert (market.reserve.grid_buy, market.reserve.grid_sell) == (0.30, 0.05)
            assert (market.min_price, market.max_price) == (Decimal("0.05"), Decimal("0.3"))
            async with aiohttp.ClientSession() as http, http.get(vtn.url + "/health") as response:
                health = await response.json()
            start = datetime.fromisoformat(health["next_open_interval"]) + timedelta(seconds=health["interval"])
            with pytest.raises(RequestRefusedError) as refused:  # 5 USD/kWh: far above what the grid asks
                await home.tender(start, "buy", 1.0, "5.00")
            assert refused.value.response_code == 454
    finally:
        assert vtn.terminate() == 0


async def test_vtn_serve_reserve_none_has_no_grid(tmp_path: Path) -> None:
    vtn = start_vtn(tmp_path / "vtn", "--interval-seconds", "5", "--reserve", "none")
    try:
        reserve, band = await _market(vtn.url)
        assert reserve is None
        assert band == (Decimal("0"), Decimal("10"))
    finally:
        assert vtn.terminate() == 0
