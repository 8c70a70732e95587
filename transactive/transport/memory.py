"""``MemoryTransport``: a VTN in the same process, reached through the real codecs.

Every request is encoded (XML or JSON, :class:`~.base.WireFormat`), decoded on the "server" side, answered
by the VTN (any :class:`LocalVtn`: :class:`transactive.services.VtnService` is one; this module does not import
it, so the client side never loads the server), and the reply is encoded and decoded again; notices go
through the codecs too. So tests that use it exercise both wire formats end to end, without a socket.
A document the server cannot decode is answered with ``tx:eiResponsePayload`` carrying the error's code.
Subscriptions require the party's token (463 otherwise), like the networked transports.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from transactive.codec.wire import decode_as, encode_as
from transactive.errors import ProtocolError
from transactive.model import Model
from transactive.protocol.identity import KeyProof, PartyKey
from transactive.transport.base import (
    QueuedSubscription,
    RequestSigner,
    Transport,
    TransportClosedError,
    WireFormat,
)

__all__ = ["LocalVtn", "MemorySubscription", "MemoryTransport"]


class LocalVtn(Protocol):
    """What the in-memory transport needs of the VTN it talks to (what :class:`~transactive.services.VtnService`
    offers its transports)."""

    async def answer(self, message: Model, *, token: str | None = None, proof: KeyProof | None = None) -> Model:
        """The reply to a request, refusals as error replies."""

    def verify_request(self, signature: str, body: bytes) -> KeyProof:
        """Check a request's signature against its bytes (463 if it does not hold)."""

    def sign_notice(self, party_id: str, body: bytes) -> str | None:
        """The VTN's signature of a notice's bytes for ``party_id`` (None: it signs nothing)."""

    def error_reply(self, message: Model | None, error: ProtocolError) -> Model:
        """The reply carrying ``error`` (for a document that could not be decoded: ``message`` None)."""

    def authorize(self, token: str | None, party_id: str, field: str = ...) -> object:
        """Raise the 463 refusal unless ``token`` is ``party_id``'s."""

    def listen(self, callback: Callable[[str, Model], Awaitable[None] | None]) -> Callable[[], None]:
        """Receive every outgoing notice; returns the function that stops it."""


class MemorySubscription(QueuedSubscription):
    """A queue of decoded (and, with a ``notice_key``, verified) notices for one party."""

    def __init__(self, on_close: Callable[[MemorySubscription], None] | None = None, *, party: str = "*",
                 notice_key: PartyKey | None = None) -> None:
        super().__init__(party, notice_key)
        self._on_close = on_close

    async def close(self) -> None:
        if self._end() and self._on_close is not None:
            self._on_close(self)


class MemoryTransport(Transport):
    """Talks to ``service`` in process, through the ``wire`` format's encoder and decoder."""

    def __init__(self, service: LocalVtn, *, wire: WireFormat | str = WireFormat.JSON) -> None:
        self.service = service
        self.wire = WireFormat(wire)
        self._subscriptions: dict[str, list[MemorySubscription]] = {}
        self._stop = service.listen(self._deliver)
        self._closed = False
        #: bytes sent and received, for tests and benchmarks
        self.bytes_out = 0
        self.bytes_in = 0

    def _encode(self, message: Model) -> bytes:
        return encode_as(self.wire, message)

    def _decode(self, data: bytes) -> Model:
        return decode_as(self.wire, data)

    async def request(self, message: Model, *, token: str | None = None, sign: RequestSigner | None = None) -> Model:
        if self._closed:
            raise TransportClosedError("the transport is closed")
        data = self._encode(message)
        self.bytes_out += len(data)
        answer = await self.exchange(data, token=token, signature=None if sign is None else sign(data))
        self.bytes_in += len(answer)
        return self._decode(answer)

    async def exchange(self, data: bytes, *, token: str | None = None, signature: str | None = None) -> bytes:
        """The server side on raw bytes: decode (either format), check the signature against them, answer,
        encode in this transport's format. A document that cannot be decoded, or a signature that does not
        hold, is answered with ``tx:eiResponsePayload`` and its error code."""
        try:
            received = decode_as(None, data)
            proof = None if signature is None else self.service.verify_request(signature, data)
        except ProtocolError as error:
            reply = self.service.error_reply(None, error)
        else:
            reply = await self.service.answer(received, token=token, proof=proof)
        return self._encode(reply)

    def _deliver(self, party_id: str, notice: Model) -> None:
        subscribers = self._subscriptions.get(party_id)
        if not subscribers:
            return
        data = self._encode(notice)
        signature = self.service.sign_notice(party_id, data)
        for sub in subscribers:
            sub.receive(data, self.wire, signature)

    async def subscribe(self, party_id: str, *, token: str | None = None,
                        notice_key: PartyKey | None = None) -> MemorySubscription:
        if self._closed:
            raise TransportClosedError("the transport is closed")
        self.service.authorize(token, party_id)

        def forget(sub: MemorySubscription) -> None:
            subs = self._subscriptions.get(party_id, [])
            if sub in subs:
                subs.remove(sub)

        sub = MemorySubscription(forget, party=party_id, notice_key=notice_key)
        self._subscriptions.setdefault(party_id, []).append(sub)
        return sub

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop()
        for subs in list(self._subscriptions.values()):
            for sub in list(subs):
                await sub.close()
