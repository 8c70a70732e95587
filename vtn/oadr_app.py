"""The OpenADR 2.0b role of ``transactive vtn serve``: built beside the CTS services, on the same store.

:func:`open_oadr` makes the :class:`~transactive.services.oadr.OadrService` over the VTN's store and market
clock, subscribes it to the gate closures (the market's price events), loads or creates the operator's token
(``DATA_DIR/operator.token``, mode 0600), loads the signing certificate and key once, and returns what the
HTTP server needs (:class:`~transactive.vtn.oadr_http.OadrOptions`). Push VENs are sent their messages by
:func:`http_pusher` over one shared client session.
"""

from __future__ import annotations

import importlib
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp

from transactive.codec import decode_xml, encode_xml
from transactive.errors import ProtocolError
from transactive.model import Model
from transactive.protocol.clock import Clock
from transactive.protocol.identity import new_secret
from transactive.protocol.oadr import DEFAULT_POLL, service_url
from transactive.services.gate import GateResult
from transactive.services.oadr import OadrCore, OadrSettings, Peer
from transactive.services.oadr.records import VenRecord
from transactive.services.oadr.service import OadrService
from transactive.services.service import VtnService
from transactive.services.store import Store
from transactive.vtn.oadr_http import OadrOptions, Signer, Verifier

__all__ = ["OPERATOR_TOKEN_FILE", "OadrConfig", "OadrStartError", "http_pusher", "interval_price",
           "load_operator_token", "open_oadr"]

log = logging.getLogger("transactive.vtn.oadr")

OPERATOR_TOKEN_FILE = "operator.token"
#: the ``ei:eiEventSignal``'s message kinds each push goes to
_PUSH_SERVICE = {"oadrDistributeEvent": "EiEvent", "oadrCreateReport": "EiReport", "oadrRegisterReport": "EiReport",
                 "oadrCancelReport": "EiReport", "oadrCancelPartyRegistration": "EiRegisterParty",
                 "oadrRequestReregistration": "EiRegisterParty"}


class OadrStartError(RuntimeError):
    """The OpenADR role cannot start as configured (one line)."""


@dataclass(frozen=True, slots=True)
class OadrConfig:
    """The OpenADR 2.0b flags of ``vtn serve``."""

    vtn_id: str = "TRANSACTIVE-VTN"
    poll_frequency: timedelta = DEFAULT_POLL
    require_signatures: bool = False
    sign_cert: Path | None = None
    sign_key: Path | None = None
    #: VEN name -> certificate fingerprint (``--ven-fingerprint``, ``--allowed-vens``); empty: any VEN
    ven_fingerprints: dict[str, str] = field(default_factory=dict)
    #: how old a signature's timestamp may be (and how far in the future)
    signature_max_age: timedelta = timedelta(minutes=5)


def load_operator_token(data_dir: Path, *, create: bool = True) -> str | None:
    """The operator's token in ``DATA_DIR/operator.token`` (created, mode 0600, when missing and ``create``)."""
    path = data_dir / OPERATOR_TOKEN_FILE
    try:
        token = path.read_text().strip()
        if token:
            return token
    except FileNotFoundError:
        pass
    if not create:
        return None
    token = new_secret()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(token + "\n")
    return token


class _InTheStore:
    """The verifier's replay memory when the VTN keeps nonces in its store: the services record each nonce in
    the same transaction as the message's effects (durable, and not spent by a message that was not
    stored, e.g. refused with 503: that message may be sent again as it was)."""

    def seen(self, nonce: str, at: datetime) -> bool:
        return False


def _signing(config: OadrConfig, wall: Clock, trusted_ca: Path | None) -> tuple[Signer | None, Verifier | None]:
    """The reply signer (``--sign-cert``) and the signature checker: a signing certificate must chain to
    ``trusted_ca`` (the CA of the TLS client certificates, when the VTN asks for them)."""
    try:
        module: Any = importlib.import_module("transactive.protocol.oadr_sign")
    except ImportError as exc:
        if config.sign_cert or config.require_signatures:
            raise OadrStartError(f"--sign-cert/--require-signatures need signxml (pip install "
                                 f"'transactive[signing]'): {exc}") from None
        return None, None
    signer = None
    if config.sign_cert is not None and config.sign_key is not None:
        try:
            signer = module.OadrSigner.from_files(config.sign_cert, config.sign_key)
        except (OSError, ValueError) as exc:
            raise OadrStartError(f"--sign-cert {config.sign_cert} / --sign-key {config.sign_key}: {exc}") from None
    verifier = module.OadrVerifier(nonces=_InTheStore(), max_age=config.signature_max_age, clock=wall,
                                   trusted_ca=trusted_ca)
    return signer, verifier


def interval_price(result: GateResult) -> Decimal | None:
    """The price of energy in a closed interval: the local clearing price; where nothing cleared locally
    and the main grid is the reserve, the grid's price for the side the market was on (its buying price
    when the market imported, its selling price when it exported); None when there is no price."""
    if result.price is not None:
        return result.price
    reserve = None if result.config is None else result.config.reserve
    if reserve is None:
        return None
    if result.gate.grid_import > 0:
        return Decimal(repr(reserve.grid_buy))
    if result.gate.grid_export > 0:
        return Decimal(repr(reserve.grid_sell))
    return None


def open_oadr(vtn: VtnService, store: Store, clock: Clock, data_dir: Path, config: OadrConfig, *, wall: Clock,
              market_context: str, currency: str, read_only: bool = False,
              trusted_ca: Path | None = None) -> OadrOptions:
    settings = OadrSettings(vtn_id=config.vtn_id, market_context=market_context, currency=currency,
                            poll_frequency=config.poll_frequency, require_signatures=config.require_signatures,
                            allowed_vens=dict(config.ven_fingerprints) or None,
                            nonce_window=2 * config.signature_max_age)
    service = OadrService(OadrCore(store, clock, settings, wall=wall), vtn)
    signer, verifier = _signing(config, wall, trusted_ca)

    async def on_gate(result: GateResult) -> None:
        if result.config is None or not service.leader:
            return  # (of several processes on one store, the leader publishes: transactive.vtn.shared_objects)
        seconds = int(result.config.interval.total_seconds())
        price = interval_price(result)
        try:
            event = await service.publish_price(result.interval_start, seconds, price)
        except ProtocolError as exc:
            log.warning("price event for %s not published: %s", result.interval_start.isoformat(), exc)
            return
        if event is not None:
            log.info("price event %s: %s %s/kWh for %s", event.event_id, price, currency,
                     result.interval_start.isoformat())

    if not read_only:
        vtn.watch_gates(on_gate)
    token = load_operator_token(data_dir, create=not read_only)
    return OadrOptions(service, operator_token=token, verifier=verifier, signer=signer)


def http_pusher(service: OadrService, session: aiohttp.ClientSession, signer: Signer | None) -> Any:
    """``pusher(ven, message)`` for :attr:`OadrService.pusher`: POST the message to the VEN's transport address
    and hand the VEN's answer in the response (``oadrCreatedEvent``, ``oadrCreatedReport``, ...) to the services
    as if the VEN had posted it."""

    async def push(ven: VenRecord, message: Model) -> None:
        assert ven.transport_address is not None
        body = encode_xml(message)
        if signer is not None:
            body = signer.sign(body)
        tag = str(type(message).__tag__).split(":")[-1]
        url = service_url(ven.transport_address, _PUSH_SERVICE.get(tag, "EiEvent"))
        async with session.post(url, data=body, headers={"Content-Type": "application/xml"}) as response:
            data = await response.read()
            if response.status != 200:
                raise OSError(f"HTTP {response.status} from {url}")
        if data.strip():
            answer: Model = decode_xml(data)
            if type(answer).__tag__ != "oadr:oadrResponse":
                await service.answer(answer, Peer())

    return push
