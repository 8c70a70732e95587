"""Market discovery over DNS-SD (multicast DNS): what a VTN announces and how a VEN finds it.

Energy Mashup Lab's agents "discover the local micromarket, and self-integrate": a VEN on the same network as a
VTN finds it without being given a URL. DNS-SD (RFC 6763) over multicast DNS (RFC 6762) is the standard way,
and OpenADR 3.1 names it for OpenADR 3 ([Definitions, "Discovery and Configuration of Local VTNs"]: service
type ``_openadr3._tcp``, TXT keys ``version``, ``base_path``, ``local_url``, ``program_names``,
``requires_auth``, ``openapi_url``; every clause a SHOULD). OpenADR 2.0b and Energy Interoperation define no
discovery, and the OpenADR 3 record cannot say what this VTN adds (the CTS market, its interval, currency and
signing key), so a VTN announces two services:

* :data:`SERVICE_TYPE` ``_transactive._tcp.local.`` with this project's TXT record (:func:`encode_txt`):

  ===========  ==============================================================================================
  ``txtvers``  ``1``: the version of this record (RFC 6763 §6.7); a record of another version is refused
  ``url``      the VTN's base URL (``http://`` or ``https://``): CTS at ``/cts``, OpenADR 2.0b at
               ``/OpenADR2/Simple/2.0b``, OpenADR 3.1 at ``/openadr3/3.1.0``
  ``mc``       the market context URI (the market a VEN joins; ``ven run --market`` picks by it)
  ``proto``    the protocols served, comma separated, of ``cts``, ``openadr2b``, ``openadr3``
  ``iv``       the market interval, whole seconds of market time (optional)
  ``cur``      the ISO 4217 currency of its prices (optional)
  ``vk``       the VTN's notice-signing key ``ed25519:...`` (optional; a hint, see below)
  ===========  ==============================================================================================

* :data:`OPENADR3_SERVICE_TYPE` ``_openadr3._tcp.local.`` with the OpenADR 3.1 record (:func:`encode_openadr3_txt`),
  so that any OpenADR 3 VEN finds the OpenADR 3 API. :func:`browse` reads both types: an OpenADR 3 VTN of
  another make that announces only ``_openadr3._tcp`` is listed too (protocols ``openadr3``).

Keys are short (RFC 6763 §6.4 suggests at most 9 characters) and each ``key=value`` string at most 255 bytes
(one DNS character-string); :func:`encode_txt` refuses longer ones naming the key. :func:`parse_txt` reads a
record (keys are case-insensitive, RFC 6763 §6.4) and raises :class:`TxtError` naming the key that is missing
or malformed.

Trust: multicast DNS is unauthenticated; anyone on the link can announce a market. Discovery only saves typing
a URL. ``vk`` lets a VEN compare the key the market then publishes with the announced one; a VEN that kept a
VTN key from an earlier run still requires that one.

The network half (:func:`browse`, :func:`discover_vtn`) uses python-zeroconf (the ``discovery`` extra); the
record half (:func:`encode_txt`, :func:`parse_txt`, :func:`choose_market`) is pure and needs nothing.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, TypeVar
from urllib.parse import urlsplit

from transactive.protocol.errors import NotAuthorizedError
from transactive.protocol.identity import PartyKey

__all__ = ["OPENADR3_BASE_PATH", "OPENADR3_SERVICE_TYPE", "PROTOCOLS", "SERVICE_TYPE", "TXT_VERSION", "DiscoveryError",
           "Market", "TxtError", "browse", "browse_with_problems", "choose_market", "discover_vtn",
           "encode_openadr3_txt", "encode_txt", "merge", "off_loop", "parse_openadr3_txt", "parse_txt"]

SERVICE_TYPE = "_transactive._tcp.local."
OPENADR3_SERVICE_TYPE = "_openadr3._tcp.local."
TXT_VERSION = "1"
#: the protocols a ``proto`` value may name
PROTOCOLS = ("cts", "openadr2b", "openadr3")
#: where this project's VTN serves OpenADR 3.1 (``base_path`` in the OpenADR 3 record)
OPENADR3_BASE_PATH = "openadr3/3.1.0"
OPENADR3_VERSION = "3.1.0"
#: one DNS character-string holds at most 255 bytes: ``key=value`` must fit
MAX_STRING = 255
#: DNS-SD instance names are one DNS label: at most 63 bytes of UTF-8 (RFC 6763 §4.1.1)
MAX_NAME = 63

_CURRENCY = re.compile(r"[A-Z]{3}")
T = TypeVar("T")


class TxtError(ValueError):
    """A TXT record that cannot be read or written; ``key`` names the TXT key at fault."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"TXT key {key!r}: {problem}")
        self.key = key


class DiscoveryError(Exception):
    """Discovery could not give one market: none answered, several did, or mDNS cannot run here."""


@dataclass(frozen=True)
class Market:
    """A market (a VTN) as announced. ``name`` is the DNS-SD instance name; ``url`` the VTN's base URL;
    ``openadr3_url`` the OpenADR 3 API's base (``local_url``) when announced; ``host``/``port``/``addresses``
    what the SRV and A/AAAA records said (for diagnosis: a VEN uses ``url``)."""

    name: str
    url: str
    market_context: str | None = None
    protocols: tuple[str, ...] = ()
    interval_seconds: int | None = None
    currency: str | None = None
    vtn_key: str | None = None
    openadr3_url: str | None = None
    host: str = ""
    port: int = 0
    addresses: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The stable JSON object of ``transactive discover --json``."""
        return {"name": self.name, "url": self.url, "market_context": self.market_context,
                "protocols": list(self.protocols), "interval_seconds": self.interval_seconds,
                "currency": self.currency, "vtn_key": self.vtn_key, "openadr3_url": self.openadr3_url,
                "host": self.host, "port": self.port, "addresses": list(self.addresses)}


# -- the records -----------------------------------------------------------------------------------------------------


def _check_url(key: str, value: str) -> str:
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 (reading it checks it: a port that is not a number from 0 to 65535 raises)
    except ValueError:
        raise TxtError(key, f"not a URL with a valid port: {value!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment \
            or any(c.isspace() for c in value):
        raise TxtError(key, f"not an http:// or https:// URL: {value!r}")
    return value


def _printable(key: str, value: str) -> str:
    if any(ord(c) < 32 or c == "\x7f" for c in value):
        raise TxtError(key, "control characters are not allowed")
    return value


def _checked_pairs(pairs: Mapping[str, str]) -> dict[str, str]:
    """``pairs`` as they go on the wire, each ``key=value`` checked to fit one DNS character-string."""
    for key, value in pairs.items():
        _printable(key, value)
        size = len(key.encode()) + 1 + len(value.encode())
        if size > MAX_STRING:
            raise TxtError(key, f"key=value is {size} bytes, a TXT string holds {MAX_STRING}")
    return dict(pairs)


def encode_txt(market: Market) -> dict[str, str]:
    """The ``_transactive._tcp`` TXT record of ``market`` (``TxtError`` naming the key that cannot be written)."""
    pairs = {"txtvers": TXT_VERSION, "url": _check_url("url", market.url)}
    if not market.market_context:
        raise TxtError("mc", "the market context is required")
    pairs["mc"] = market.market_context
    _check_protocols(market.protocols)
    pairs["proto"] = ",".join(market.protocols)
    if market.interval_seconds is not None:
        pairs["iv"] = str(_check_interval(str(market.interval_seconds)))
    if market.currency is not None:
        pairs["cur"] = _check_currency(market.currency)
    if market.vtn_key is not None:
        pairs["vk"] = _check_key(market.vtn_key)
    return _checked_pairs(pairs)


def encode_openadr3_txt(market: Market) -> dict[str, str]:
    """The OpenADR 3.1 TXT record for ``market``, a VTN of this project (its API under :data:`OPENADR3_BASE_PATH`,
    one program per market context, OAuth 2 required)."""
    base = _check_url("url", market.url).rstrip("/")
    api = f"{base}/{OPENADR3_BASE_PATH}"
    return _checked_pairs({"version": OPENADR3_VERSION, "base_path": OPENADR3_BASE_PATH, "local_url": api,
                           "program_names": market.market_context or "", "requires_auth": "True",
                           "openapi_url": f"{api}/openapi.json"})


def _text_pairs(properties: Mapping[bytes | str, bytes | str | None]) -> dict[str, str]:
    """TXT properties as zeroconf gives them, keys lower-cased (case-insensitive), values UTF-8 text."""
    out: dict[str, str] = {}
    for raw_key, raw_value in properties.items():
        try:
            key = (raw_key.decode() if isinstance(raw_key, bytes) else raw_key).lower()
        except UnicodeDecodeError:
            raise TxtError(repr(raw_key), "the key is not UTF-8") from None
        if raw_value is None:
            raise TxtError(key, "has no value (a key without '=')")
        try:
            value = raw_value.decode() if isinstance(raw_value, bytes) else raw_value
        except UnicodeDecodeError:
            raise TxtError(key, "the value is not UTF-8") from None
        out[key] = _printable(key, value)
    return out


def _required(pairs: Mapping[str, str], key: str) -> str:
    value = pairs.get(key)
    if not value:
        raise TxtError(key, "missing" if value is None else "empty")
    return value


def _check_protocols(protocols: Sequence[str]) -> tuple[str, ...]:
    if not protocols:
        raise TxtError("proto", "names no protocol")
    unknown = [p for p in protocols if p not in PROTOCOLS]
    if unknown:
        raise TxtError("proto", f"unknown protocol {unknown[0]!r} (known: {', '.join(PROTOCOLS)})")
    if len(set(protocols)) != len(protocols):
        raise TxtError("proto", "names a protocol twice")
    return tuple(protocols)


def _check_interval(text: str) -> int:
    if not text.isdigit() or int(text) < 1 or int(text) > 86400 * 7:
        raise TxtError("iv", f"not a whole number of seconds from 1 to 604800: {text!r}")
    return int(text)


def _check_currency(text: str) -> str:
    if not _CURRENCY.fullmatch(text):
        raise TxtError("cur", f"not an ISO 4217 code (three capital letters): {text!r}")
    return text


def _check_key(text: str) -> str:
    if not text.startswith("ed25519:"):
        raise TxtError("vk", f"not an ed25519:... key: {text[:24]!r}")
    try:
        return PartyKey.from_keyid(text).keyid
    except NotAuthorizedError as exc:
        raise TxtError("vk", f"not a VTN key: {exc.message}") from None


def parse_txt(name: str, properties: Mapping[bytes | str, bytes | str | None], *, host: str = "", port: int = 0,
              addresses: Sequence[str] = ()) -> Market:
    """The market a ``_transactive._tcp`` TXT record describes (``TxtError`` naming the key at fault)."""
    pairs = _text_pairs(properties)
    version = _required(pairs, "txtvers")
    if version != TXT_VERSION:
        raise TxtError("txtvers", f"version {version!r} is not understood (this reads {TXT_VERSION!r})")
    iv, cur, vk = pairs.get("iv"), pairs.get("cur"), pairs.get("vk")
    return Market(
        name=name, url=_check_url("url", _required(pairs, "url")), market_context=_required(pairs, "mc"),
        protocols=_check_protocols(_required(pairs, "proto").split(",")),
        interval_seconds=None if iv is None else _check_interval(iv),
        currency=None if cur is None else _check_currency(cur), vtn_key=None if vk is None else _check_key(vk),
        host=host, port=port, addresses=tuple(addresses))


def parse_openadr3_txt(name: str, properties: Mapping[bytes | str, bytes | str | None], *, host: str = "",
                       port: int = 0, addresses: Sequence[str] = ()) -> Market:
    """The market an OpenADR 3.1 ``_openadr3._tcp`` TXT record describes: ``url`` is ``local_url`` less its
    ``base_path``; the market context is the program name when the record names exactly one."""
    pairs = _text_pairs(properties)
    local = _check_url("local_url", _required(pairs, "local_url")).rstrip("/")
    base_path = pairs.get("base_path", "").strip("/")
    url = local[: -len(base_path) - 1] if base_path and local.endswith("/" + base_path) else \
        "{0.scheme}://{0.netloc}".format(urlsplit(local))
    programs = [p for p in pairs.get("program_names", "").split(",") if p]
    return Market(name=name, url=url, market_context=programs[0] if len(programs) == 1 else None,
                  protocols=("openadr3",), openadr3_url=local, host=host, port=port, addresses=tuple(addresses))


def merge(markets: Sequence[Market]) -> list[Market]:
    """One entry per VTN URL, sorted by name and URL: a ``_transactive._tcp`` announcement wins over the
    ``_openadr3._tcp`` one of the same VTN (it says more) and takes its ``openadr3_url``."""
    by_url: dict[str, Market] = {}
    for market in sorted(markets, key=lambda m: (m.name, m.url)):  # (the same answer whatever the order heard)
        key = market.url.rstrip("/").lower()
        known = by_url.get(key)
        if known is None:
            by_url[key] = market
            continue
        full, other = (market, known) if known.protocols == ("openadr3",) and market.openadr3_url is None \
            else (known, market)
        by_url[key] = replace(full, openadr3_url=full.openadr3_url or other.openadr3_url)
    return sorted(by_url.values(), key=lambda m: (m.name, m.url))


def choose_market(markets: Sequence[Market], market: str | None = None) -> Market:
    """The one market a VEN joins: ``market`` (an instance name or a market context URI) picks among several;
    :class:`DiscoveryError` when none matches or the choice is ambiguous (naming them and the flag)."""
    candidates = list(markets) if market is None else \
        [m for m in markets if market in (m.name, m.market_context)]
    if len(candidates) == 1:
        return candidates[0]
    if not markets:
        raise DiscoveryError("no market answered over DNS-SD (mDNS); start the VTN with 'vtn serve --announce' on "
                             "this network, or give the VTN's URL")
    def listed(found: Sequence[Market]) -> str:
        return "; ".join(f"{m.name!r} ({m.market_context or 'no market context'}, {m.url})" for m in found)

    if not candidates:
        raise DiscoveryError(f"no market named {market!r} (instance name or market context) among: {listed(markets)}")
    raise DiscoveryError(f"{len(candidates)} markets answered{'' if market is None else f' to {market!r}'}: "
                         f"{listed(candidates)}; pick one with --market NAME (its instance name or market context)")


# -- the network -----------------------------------------------------------------------------------------------------


def _zeroconf_interfaces(interfaces: Sequence[str] | None) -> Any:
    from zeroconf import InterfaceChoice

    return InterfaceChoice.All if not interfaces else list(interfaces)


def _read(info: Any, kind: str) -> Market:
    name = info.name[: -len(kind) - 1] if info.name.endswith("." + kind) else info.name
    parse = parse_txt if kind == SERVICE_TYPE else parse_openadr3_txt
    return parse(name, info.properties, host=(info.server or "").rstrip("."), port=int(info.port or 0),
                 addresses=sorted(info.parsed_scoped_addresses()))


def browse_with_problems(timeout: float, interfaces: Sequence[str] | None = None) -> tuple[list[Market], list[str]]:
    """The markets announced on the network within ``timeout`` seconds (:func:`merge`), and one line per
    announcement that could not be read (its name and the :class:`TxtError`). ``interfaces``: the local
    addresses whose interfaces to listen on (default: all). Blocks for ``timeout`` seconds (from a coroutine:
    ``await asyncio.to_thread(browse, ...)``)."""
    return off_loop(_browse, timeout, interfaces)


def off_loop(work: Callable[..., T], *args: Any) -> T:
    """``work(*args)``, on a thread of its own if this thread runs an event loop: a zeroconf instance made where a
    loop runs takes that loop for its own, and its blocking calls would then wait on the loop they block."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return work(*args)
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(work, *args).result()


def _browse(timeout: float, interfaces: Sequence[str] | None) -> tuple[list[Market], list[str]]:
    try:
        from zeroconf import IPVersion, ServiceBrowser, ServiceStateChange, Zeroconf
    except ImportError:
        raise DiscoveryError("DNS-SD needs python-zeroconf: pip install 'transactive[discovery]'") from None
    found: set[tuple[str, str]] = set()
    lock = threading.Lock()

    def seen(zeroconf: Any, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        if state_change is not ServiceStateChange.Removed:
            with lock:
                found.add((service_type, name))

    try:
        zc = Zeroconf(interfaces=_zeroconf_interfaces(interfaces), ip_version=IPVersion.V4Only)
    except OSError as exc:
        raise DiscoveryError(f"mDNS cannot listen here ({exc}); is there a multicast-capable interface?") from None
    markets: list[Market] = []
    problems: list[str] = []
    try:
        browser = ServiceBrowser(zc, [SERVICE_TYPE, OPENADR3_SERVICE_TYPE], handlers=[seen])
        time.sleep(timeout)
        browser.cancel()
        with lock:
            names = sorted(found)
        for kind, name in names:
            info = zc.get_service_info(kind, name, timeout=1000)
            if info is None:
                problems.append(f"{name}: announced but did not answer with its SRV and TXT records")
                continue
            try:
                markets.append(_read(info, kind))
            except TxtError as exc:
                problems.append(f"{name}: {exc}")
    finally:
        zc.close()
    return merge(markets), problems


def browse(timeout: float = 3.0, interfaces: Sequence[str] | None = None) -> list[Market]:
    """The markets announced within ``timeout`` seconds, deduplicated and sorted (unreadable ones left out)."""
    return browse_with_problems(timeout, interfaces)[0]


def discover_vtn(timeout: float, market: str | None = None, *, interfaces: Sequence[str] | None = None) -> Market:
    """For ``ven run --discover``: browse for ``timeout`` seconds and return the one market found (or the one
    ``market`` names, by instance name or market context); :class:`DiscoveryError` when none or several."""
    return choose_market(browse(timeout, interfaces), market)
