"""A child VTN's market clock is its parent's (fractal markets): :func:`adopt_parent_clock`."""

from __future__ import annotations

import asyncio
import json
import logging
import ssl

from transactive.protocol.clock import Clock, TimeMapping
from transactive.protocol.market import MarketConfig
from transactive.transport.http import https_failure
from transactive.vtn.clock import CLOCK_FILE, save_mapping, saved_mapping
from transactive.vtn.options import VtnOptions, VtnStartError

__all__ = ["adopt_parent_clock"]

log = logging.getLogger("transactive.vtn")


async def adopt_parent_clock(parent: str, options: VtnOptions, config: MarketConfig, tls: ssl.SSLContext | None,
                             wall: Clock, *, save: bool = True) -> TimeMapping:
    """A child VTN runs on its parent's market time (fractal markets: both must agree which interval is
    open): the parent's time mapping, read from its ``GET /health``, becomes this VTN's (and is saved in
    the data directory). The parent may still be starting: it is asked for up to ``parent_wait`` seconds;
    a failed TLS handshake is not waited out (retrying cannot mend a certificate)."""
    import aiohttp

    url = parent.rstrip("/") + "/health"
    loop = asyncio.get_running_loop()
    wait = options.parent_wait
    deadline = loop.time() + wait
    https = url.lower().startswith("https://")
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2.0)) as session:
        while True:
            try:
                async with session.get(url, ssl=tls or True) as response:
                    text = await response.read()
                break
            except (aiohttp.ClientError, TimeoutError) as exc:
                failure = https_failure(exc, https=https)
                if failure is not None:
                    raise VtnStartError(f"the parent VTN at {url}: {failure}") from None
                if loop.time() > deadline:
                    raise VtnStartError(f"the parent VTN did not answer GET {url} within {wait:g} s: "
                                        f"{exc or type(exc).__name__}") from None
                await asyncio.sleep(0.25)
    try:
        mapping = TimeMapping.from_json(json.loads(text)["clock"])
    except (KeyError, TypeError, ValueError) as exc:  # not JSON, no clock, or a clock that does not read
        raise VtnStartError(f"GET {url} reports no usable market clock ({type(exc).__name__}: {exc}); a child "
                            "VTN needs a transactive parent to share its market time") from None
    if options.interval_seconds is not None:
        speed = config.interval.total_seconds() / options.interval_seconds
        if abs(speed - mapping.speed) > 1e-9 * speed:
            raise VtnStartError(
                f"--interval-seconds {options.interval_seconds:g} runs this market {speed:g} times real "
                f"time, its parent runs {mapping.speed:g} times: omit --interval-seconds (a child keeps its "
                f"parent's clock) or give {config.interval.total_seconds() / mapping.speed:g}")
    try:
        saved = saved_mapping(options.data_dir)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise VtnStartError(f"{options.data_dir / CLOCK_FILE}: not a readable market clock "
                            f"({type(exc).__name__}: {exc})") from None
    now = wall()
    if saved is not None and saved.market(now) - mapping.market(now) > config.interval:
        log.warning("the parent's market time %s is behind this data directory's %s: intervals closed here "
                    "already are not closed again", mapping.market(now).isoformat(),
                    saved.market(now).isoformat())
    if mapping != saved and save:
        save_mapping(options.data_dir, mapping)
    log.info("market clock from the parent %s: %g times real time", parent, mapping.speed)
    return mapping
