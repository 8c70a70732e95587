"""EiRegisterParty: query, create (and re-register), cancel; the VTN-initiated cancel and re-registration.

Who a VEN is: the VTN assigns its venID and registrationID (unguessable ids). A VEN that presents a
certificate (TLS client or XML signature) is bound to that certificate's fingerprint for good: a later
message for that venID with another certificate or none is refused (463), and a VEN that registers again with
the same certificate gets its registration back (a device that lost its state comes back as itself). Without
a certificate, the venID is the VEN's only credential: re-registering needs it (or the registrationID).
With an allow-list (``vtn serve --ven-fingerprint NAME=FP`` / ``--allowed-vens``) only the listed names may
register, each only with its certificate.
"""

from __future__ import annotations

import hashlib

from transactive.codec import encode_xml
from transactive.ei.oadr import (
    EiResponse,
    OadrCanceledPartyRegistration,
    OadrCancelPartyRegistration,
    OadrCreatedPartyRegistration,
    OadrCreatePartyRegistration,
    OadrQueryRegistration,
    OadrRequestReregistration,
    OadrResponse,
    Profile,
    Transport,
)
from transactive.ei.oadr.enums import ProfileName, TransportName
from transactive.model import Model
from transactive.protocol.errors import ConflictError, InvalidIdError, NotAuthorizedError, OutsideLimitsError
from transactive.services.oadr.context import OadrContext, Peer, new_id
from transactive.services.oadr.records import VenRecord

__all__ = ["acknowledged", "cancel_registration", "canceled_registration", "create_registration",
           "created_registration", "query_registration", "request_reregistration", "vtn_cancel_registration"]

#: the longest VEN name accepted
MAX_NAME = 256
_PROFILES = (Profile(profile_name=ProfileName.V2_0B,
                     transports=(Transport(transport_name=TransportName.SIMPLE_HTTP),)),)


def created_registration(ctx: OadrContext, request_id: str, ven: VenRecord | None, code: int = 200,
                         description: str = "OK") -> OadrCreatedPartyRegistration:
    return OadrCreatedPartyRegistration(
        response=EiResponse(response_code=code, response_description=description, request_id=request_id),
        registration_id=None if ven is None else ven.registration_id,
        ven_id=None if ven is None else ven.ven_id,
        vtn_id=ctx.settings.vtn_id, profiles=_PROFILES, requested_poll_freq=ctx.settings.poll_frequency)


def query_registration(ctx: OadrContext, message: OadrQueryRegistration, peer: Peer) -> Model:
    """What the VTN supports; for a VEN whose certificate is bound to an active registration, also its ids."""
    presented = peer.fingerprint()
    known = None
    if presented is not None:
        known = ctx.active_by_fingerprint(presented)
    return created_registration(ctx, message.request_id, known)


def _allowed(ctx: OadrContext, name: str | None, presented: str | None) -> str | None:
    """The VEN's name after the allow-list check (463 naming the field)."""
    allowed = ctx.settings.allowed_vens
    if allowed is None:
        return name
    if name is None and presented is not None:
        name = next((n for n, fp in allowed.items() if fp == presented), None)
    if name is None or name not in allowed:
        raise NotAuthorizedError(f"VEN name {name!r} is not allowed to register with this VTN",
                                 field="oadr:oadrVenName")
    if presented != allowed[name]:
        what = "no certificate" if presented is None else f"certificate {presented}"
        raise NotAuthorizedError(f"VEN {name!r} must register with certificate {allowed[name]}, not {what}",
                                 field="oadr:oadrVenName")
    return name


def create_registration(ctx: OadrContext, message: OadrCreatePartyRegistration, peer: Peer) -> Model:
    presented = peer.fingerprint()
    name = _allowed(ctx, message.ven_name, presented)
    if message.transport_name != TransportName.SIMPLE_HTTP:
        raise OutsideLimitsError("this VTN speaks simpleHttp only", field="oadr:oadrTransportName")
    if message.profile_name != ProfileName.V2_0B:
        raise OutsideLimitsError("this VTN speaks the 2.0b profile only", field="oadr:oadrProfileName")
    push = message.http_pull_model is False
    if push and not message.transport_address:
        raise OutsideLimitsError("a push VEN (oadrHttpPullModel false) must give its oadrTransportAddress",
                                 field="oadr:oadrTransportAddress")
    if push and not str(message.transport_address).startswith(("http://", "https://")):
        raise OutsideLimitsError("oadrTransportAddress must be an http(s) URL", field="oadr:oadrTransportAddress")
    digest = request_digest(message)
    repeated = _repeated(ctx, message, name, digest, presented)
    if repeated is not None:
        return created_registration(ctx, message.request_id, repeated)
    existing = _existing(ctx, message, presented, name)
    now = ctx.now()
    if existing is None:
        if not name:
            raise OutsideLimitsError("a new registration needs the VEN's name", field="oadr:oadrVenName")
        if len(name) > MAX_NAME:
            raise OutsideLimitsError(f"oadrVenName is longer than {MAX_NAME} characters", field="oadr:oadrVenName")
        if ctx.active_by_name(name) is not None:
            raise NotAuthorizedError(
                f"VEN name {name!r} is registered already; re-register with its venID or registrationID",
                field="oadr:oadrVenName")
        # 2.0b: both parties register their reports; the VTN's METADATA report (it offers none) is the VEN's
        # first message on its first poll (metadata_pending)
        ven = VenRecord(ven_id=new_id("ven-"), registration_id=new_id("reg-"), ven_name=name, registered_at=now,
                        fingerprint=presented, metadata_pending=True)
    else:
        ven = existing
        if name and name != ven.ven_name and ctx.active_by_name(name) not in (None, ven):
            raise NotAuthorizedError(f"VEN name {name!r} is registered already", field="oadr:oadrVenName")
        ven = ven.model_copy(update={"ven_name": name or ven.ven_name, "fingerprint": ven.fingerprint or presented})
    ven = ven.model_copy(update={"http_pull_model": not push, "transport_address": message.transport_address,
                                 "xml_signature": message.xml_signature, "report_only": message.report_only,
                                 "request_id": message.request_id, "request_digest": digest})
    ctx.put_ven(ven)
    ctx.mark(ven.ven_id)
    return created_registration(ctx, message.request_id, ven)


def request_digest(message: Model) -> str:
    """What identifies a request's content (a repeated requestID with other content is 409)."""
    return hashlib.sha256(message.model_dump_json().encode()).hexdigest()


def _repeated(ctx: OadrContext, message: OadrCreatePartyRegistration, name: str | None, digest: str,
              presented: str | None) -> VenRecord | None:
    """The registration this very request made before (a retry: the same reply again, nothing written), if
    it is one; the same requestID with other content is 409. Only the VEN that made it may see it again: a
    registration bound to a certificate is not shown to another."""
    ven = ctx.active_by_name(name) if name else None
    if ven is None or ven.request_id != message.request_id:
        return None
    if ven.request_digest != digest:
        raise ConflictError(f"requestID {message.request_id!r} was used before with other content",
                            field="pyld:requestID")
    if ven.fingerprint is not None and ven.fingerprint != presented:
        raise NotAuthorizedError(f"VEN name {name!r} is registered already", field="oadr:oadrVenName")
    return ven


def _existing(ctx: OadrContext, message: OadrCreatePartyRegistration, presented: str | None,
              name: str | None) -> VenRecord | None:
    """The active registration this request renews, if it is one (after checking the VEN may renew it)."""
    vens = ctx.vens()
    if message.registration_id is not None:
        ven = next((v for v in vens.values() if v.active and v.registration_id == message.registration_id), None)
        if ven is None:
            raise InvalidIdError(f"registrationID {message.registration_id!r} is not an active registration",
                                 field="ei:registrationID")
        if message.ven_id is not None and message.ven_id != ven.ven_id:
            raise NotAuthorizedError("venID does not belong to this registrationID", field="ei:venID")
        if ven.fingerprint is not None and ven.fingerprint != presented:
            raise NotAuthorizedError(f"registration {ven.registration_id} is bound to another certificate",
                                     field="ei:registrationID")
        return ven
    if message.ven_id is not None:
        ven = ctx.find_ven(message.ven_id)
        if ven is None or not ven.active:
            raise InvalidIdError(f"venID {message.ven_id!r} is not registered with this VTN", field="ei:venID")
        if ven.fingerprint is not None and ven.fingerprint != presented:
            raise NotAuthorizedError(f"venID {ven.ven_id} is bound to another certificate", field="ei:venID")
        return ven
    if presented is not None:
        ven = ctx.active_by_fingerprint(presented)
        if ven is not None and (not name or name == ven.ven_name):
            return ven
    return None


def cancel_registration(ctx: OadrContext, message: OadrCancelPartyRegistration, peer: Peer) -> Model:
    ven = ctx.ven(message.ven_id, peer) if message.ven_id else None
    if ven is None:
        ven = next((v for v in ctx.vens().values() if v.active and v.registration_id == message.registration_id),
                   None)
        if ven is None:
            raise InvalidIdError(f"registrationID {message.registration_id!r} is not an active registration",
                                 field="ei:registrationID")
        ctx.check_fingerprint(ven, peer)
        if ven.fingerprint is None:
            raise NotAuthorizedError("cancelling a registration needs the VEN's venID", field="ei:venID")
    if ven.registration_id != message.registration_id:
        raise InvalidIdError("registrationID is not this VEN's registration", field="ei:registrationID")
    ctx.put_ven(ven.model_copy(update={"cancelled_at": ctx.now()}))
    return OadrCanceledPartyRegistration(
        response=EiResponse(response_code=200, response_description="OK", request_id=message.request_id),
        registration_id=ven.registration_id, ven_id=ven.ven_id)


def canceled_registration(ctx: OadrContext, message: OadrCanceledPartyRegistration, peer: Peer) -> Model:
    """A VEN confirms the cancellation the VTN asked for (its reply to a polled ``oadrCancelPartyRegistration``)."""
    ven = ctx.find_ven(message.ven_id)
    if ven is None:
        raise NotAuthorizedError(f"venID {message.ven_id!r} is not registered with this VTN", field="ei:venID")
    ctx.check_fingerprint(ven, peer)
    if ven.active:
        ctx.put_ven(ven.model_copy(update={"cancelled_at": ctx.now()}))
    return _ok(message.response.request_id, ven.ven_id)


def acknowledged(ctx: OadrContext, message: OadrResponse, peer: Peer) -> Model:
    """A VEN's plain acknowledgement (e.g. of a re-registration request): nothing to do."""
    ven = ctx.ven(message.ven_id, peer)
    return _ok(message.response.request_id, ven.ven_id)


def _ok(request_id: str, ven_id: str | None) -> OadrResponse:
    return OadrResponse(response=EiResponse(response_code=200, response_description="OK", request_id=request_id),
                        ven_id=ven_id)


def vtn_cancel_registration(ctx: OadrContext, ven: VenRecord) -> None:
    """The VTN ends a registration: the VEN gets the ``oadrCancelPartyRegistration`` on its next poll (or by
    push), and the registration ends when it is delivered."""
    ctx.queue(ven.ven_id, encode_xml(OadrCancelPartyRegistration(
        request_id=new_id("req-"), registration_id=ven.registration_id, ven_id=ven.ven_id)))


def request_reregistration(ctx: OadrContext, ven: VenRecord) -> None:
    """The VTN asks a VEN to register again (on its next poll)."""
    ctx.queue(ven.ven_id, encode_xml(OadrRequestReregistration(ven_id=ven.ven_id)))
