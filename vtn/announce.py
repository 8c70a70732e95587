"""``transactive vtn serve --announce``: the VTN announces its market over DNS-SD (multicast DNS) while it serves.

What is announced (:func:`describe`; the records are :mod:`transactive.protocol.discovery`'s): the service
``_transactive._tcp`` with the URL, market context, protocols (``cts,openadr2b,openadr3``: this VTN serves all
three on one port), market interval, currency and notice-signing key, and the OpenADR 3.1 service
``_openadr3._tcp`` for OpenADR 3 VENs of any make. Both under one instance name (``--announce-name``; default
"HOST transactive VTN PORT"). zeroconf probes the name first (RFC 6762 §8) and takes "NAME (2)" when another
responder answers for it (the name used is logged); two announcers on one machine share port 5353 and, as
tried here, do not notice each other's probes, hence the port in the default name.

The URL must be one a VEN can reach, so it is made of the address the VTN listens on (``--host``) and the port
it really bound (after it listens: ``--port 0`` too). A wildcard bind (``0.0.0.0``, ``::``) names no address: it
is refused unless ``--announce-host HOST`` says which address or name VENs should use (a guess among the
machine's interfaces could announce one a VEN cannot reach). The announcement goes out on the interface of
that address: a VTN on 127.0.0.1 is announced on loopback only (to processes on the same machine: the URL is
useless elsewhere), one bound to a LAN address on that LAN's interface, and a name that does not resolve to a
local address on all interfaces. Announcements use IPv4 multicast (224.0.0.251); an IPv6 address of the VTN
is still given in the records.

When: after the VTN listens (a VEN that finds it can connect at once); withdrawn (mDNS goodbye packets) when
it stops, before it stops listening. With ``--workers N`` the supervisor announces once for all workers
(:mod:`.workers`), after the first worker listens. An announcement that cannot be made (no usable interface,
zeroconf not installed) stops the VTN with exit code 2: the operator asked for it.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import socket
import threading
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from transactive.protocol.discovery import (
    MAX_NAME,
    OPENADR3_SERVICE_TYPE,
    SERVICE_TYPE,
    Market,
    TxtError,
    encode_openadr3_txt,
    encode_txt,
    off_loop,
)
from transactive.protocol.market import MarketConfig

__all__ = ["SERVED_PROTOCOLS", "AnnounceError", "Announcer", "announce_problem", "announced_url", "default_name",
           "describe", "from_flags"]

log = logging.getLogger("transactive.vtn.announce")

#: what this VTN serves on its one port (CTS at /cts, OpenADR 2.0b and OpenADR 3.1 under their paths)
SERVED_PROTOCOLS = ("cts", "openadr2b", "openadr3")
WILDCARDS = frozenset({"", "0.0.0.0", "::", "*"})


class AnnounceError(Exception):
    """The announcement could not be made (the message says why)."""


def announce_problem(bind_host: str, announce_host: str | None, name: str | None) -> str | None:
    """Why ``--announce`` cannot go with these flags (None when it can): a wildcard bind without
    ``--announce-host``, or a name that is not a DNS-SD instance name."""
    if announce_host is None and bind_host in WILDCARDS:
        return (f"--announce with --host {bind_host or repr(bind_host)} (every interface) needs --announce-host "
                "HOST: the address or name VENs reach this VTN at")
    if announce_host is not None and (announce_host in WILDCARDS or any(c in announce_host for c in "/ @?#")):
        return f"--announce-host {announce_host!r}: give a host name or an address"
    if name is not None:
        size = len(name.encode())
        if not 1 <= size <= MAX_NAME or any(ord(c) < 32 or c == "\x7f" for c in name):
            return f"--announce-name {name!r}: 1 to {MAX_NAME} bytes of UTF-8, no control characters"
    return None


def announced_url(scheme: str, bind_host: str, announce_host: str | None, port: int) -> str:
    """The URL VENs are given: ``announce_host`` (else the bind address) and the bound port."""
    host = announce_host or bind_host
    if ":" in host and not host.startswith("["):  # an IPv6 literal
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"


def default_name(port: int) -> str:
    """"HOST transactive VTN PORT", HOST the machine's short name (cut to fit one DNS label): the port keeps two
    VTNs of one machine apart (their name probes do not reliably reach each other, see the module docstring)."""
    host = socket.gethostname().split(".")[0] or "vtn"
    tail = f" transactive VTN {port}"
    return host.encode()[: MAX_NAME - len(tail)].decode(errors="ignore") + tail


def describe(name: str, url: str, config: MarketConfig) -> Market:
    """The market ``config`` as announced at ``url``."""
    return Market(name=name, url=url, market_context=config.market_context, protocols=SERVED_PROTOCOLS,
                  interval_seconds=round(config.interval.total_seconds()), currency=config.currency,
                  vtn_key=config.signing_key)


def from_flags(args: argparse.Namespace, scheme: str, port: int, config: MarketConfig) -> Market:
    """The market as ``vtn serve --announce`` tells it: ``--announce-name`` (else :func:`default_name`), the URL of
    ``--announce-host`` (else ``--host``) and the bound ``port``, the market's ``config``."""
    return describe(args.announce_name or default_name(port),
                    announced_url(scheme, args.host, args.announce_host, port), config)


def _is_local(address: str) -> bool:
    """Whether ``address`` is one of this machine's (a socket can be bound to it)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.bind((address, 0))
    except OSError:
        return False
    return True


def _where(host: str) -> tuple[list[str], Any]:
    """The addresses ``host`` stands for, and the zeroconf interfaces to announce on (see the module docstring)."""
    from zeroconf import InterfaceChoice

    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise AnnounceError(f"{host!r} does not resolve ({exc})") from None
    addresses = sorted({str(info[4][0]).split("%")[0] for info in infos})  # (less an IPv6 zone: "fe80::1%eth0")
    if all(ipaddress.ip_address(a).is_loopback for a in addresses):
        return addresses, ["127.0.0.1"]
    local = [a for a in addresses if ":" not in a and _is_local(a)]
    return addresses, local or InterfaceChoice.All


class Announcer:
    """The VTN's two DNS-SD services while it serves: :meth:`start` registers them, :meth:`close` withdraws
    them (both block: zeroconf probes the name for about 2 s; the async methods run them on a thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._zeroconf: Any = None
        self._infos: list[Any] = []
        #: why the announcement failed (after :meth:`begin`), else None
        self.error: str | None = None
        self.name: str | None = None
        self._tasks: list[asyncio.Task[None]] = []  # (kept: the loop holds tasks weakly)

    def start(self, market: Market) -> str:
        """Announce ``market``; the instance name used (``market.name``, or "NAME (2)" if that was taken)."""
        try:
            from zeroconf import Error, IPVersion, ServiceInfo, Zeroconf
        except ImportError:
            raise AnnounceError("announcing needs python-zeroconf: pip install 'transactive[discovery]'") from None
        with self._lock:
            if self._zeroconf is not None:
                raise AnnounceError("already announced")
            try:
                records = ((SERVICE_TYPE, encode_txt(market)), (OPENADR3_SERVICE_TYPE, encode_openadr3_txt(market)))
            except TxtError as exc:
                raise AnnounceError(str(exc)) from None
            host = socket.gethostname().split(".")[0] or "vtn"
            where = urlsplit(market.url)
            addresses, interfaces = _where(where.hostname or "")
            try:
                self._zeroconf = off_loop(partial(Zeroconf, interfaces=interfaces, ip_version=IPVersion.V4Only))
                port = where.port or (443 if where.scheme == "https" else 80)
                self._infos = [ServiceInfo(kind, f"{market.name}.{kind}", port=port, properties=txt,
                                           server=f"{host}.local.", parsed_addresses=addresses)
                               for kind, txt in records]
                self._on_loop(self._register)
            except (OSError, Error, ValueError, TimeoutError) as exc:  # (zeroconf.Error: a name it cannot take...)
                self._close()
                raise AnnounceError(f"mDNS: {exc or type(exc).__name__}") from None
            self.name = name = str(self._infos[0].name)[: -len(SERVICE_TYPE) - 1]
        log.info("announced %r over DNS-SD (%s, %s) at %s", name, SERVICE_TYPE, OPENADR3_SERVICE_TYPE, market.url)
        return name

    def _on_loop(self, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run ``work`` on zeroconf's own event loop (its thread) and wait for it."""
        asyncio.run_coroutine_threadsafe(work(), self._zeroconf.loop).result(timeout=30)

    async def _register(self) -> None:
        # both services probed and announced together (about 2 s, not twice that); a name another responder holds
        # becomes "NAME (2)"
        sent = await asyncio.gather(*(self._zeroconf.async_register_service(info, allow_name_change=True)
                                      for info in self._infos))
        await asyncio.gather(*sent)

    async def _unregister(self) -> None:
        sent = [await self._zeroconf.async_unregister_service(info) for info in self._infos]
        await asyncio.gather(*sent)  # (goodbye packets: browsers drop the market at once)

    def _close(self) -> None:
        if self._zeroconf is None:
            return
        try:
            if self._infos and self.name is not None:
                self._on_loop(self._unregister)
        except Exception as exc:  # (stopping goes on: browsers drop the market when its records expire)
            log.warning("the DNS-SD announcement was not withdrawn cleanly: %s", exc or type(exc).__name__)
        finally:
            self._zeroconf.close()
            self._zeroconf, self._infos, self.name = None, [], None

    def close(self) -> None:
        """Withdraw the announcement (idempotent; waits for a :meth:`start` under way; never raises)."""
        with self._lock:
            self._close()

    def begin(self, market: Market, failed: asyncio.Event) -> None:
        """From the running VTN's loop: announce on a thread; on failure keep :attr:`error` and set ``failed``."""

        async def announce() -> None:
            try:
                await asyncio.to_thread(self.start, market)
            except Exception as exc:  # (an AnnounceError, or whatever else kept the market from being announced)
                self.error = str(exc) or type(exc).__name__
                failed.set()

        self._tasks.append(asyncio.get_running_loop().create_task(announce(), name="transactive-vtn-announce"))

    def halt_after(self, stop: asyncio.Event) -> asyncio.Event:
        """An event set once ``stop`` is set and the announcement is withdrawn: the VTN's own stop event, so that
        VENs stop finding it before it stops listening."""
        halt = asyncio.Event()

        async def withdraw() -> None:
            await stop.wait()
            try:
                await asyncio.to_thread(self.close)
            finally:
                halt.set()

        self._tasks.append(asyncio.get_running_loop().create_task(withdraw(), name="transactive-vtn-withdraw"))
        return halt
