"""``MemoryTransport``: a VTN in the same process, reached through the real codecs.

Every request is encoded (XML or JSON, :class:`~.base.WireFormat`), decoded on the "server" side, answered
by a :class:`~transactive.services.VtnService`, and the reply is encoded and decoded again; notices go
through the codecs too. So tests that use it exercise both wire formats end to end, without a socket.
A document the server cannot decode is answered with ``tx:eiResponsePayload`` carrying the error's code.
Subscriptions require the party's token (463 otherwise), like the networked transports.
"""

from __future__ import annotations

from collections.abc import Callable

from transactive.codec import decode, decode_json, decode_xml, encode_json, encode_xml
from transactive.errors import ProtocolError
from transactive.model import Model
from transactive.services.service import VtnService
from transactive.transport.base import (
    QueuedSubscription,
    Transport,
    TransportClosedError,
    WireFormat,
)

__all__ = ["MemorySubscription", "MemoryTransport"]



class MemorySubscription(QueuedSubscription):
    """A queue of decoded notices for one party."""

    def __init__(self, on_close: Callable[[MemorySubscription], None] | None = None) -> None:
        super().__init__()
        self._on_close = on_close

    async def close(self) -> None:
        if self._end() and self._on_close is not None:
            self._on_close(self)


class MemoryTransport(Transport):
    """Talks to ``service`` in process, through the ``wire`` format's encoder and decoder."""

    def __init__(self, service: VtnService, *, wire: WireFormat | str = WireFormat.JSON) -> None:
        self.service = service
        self.wire = WireFormat(wire)
        self._subscriptions: dict[str, list[MemorySubscription]] = {}
        self._stop = service.listen(self._deliver)
        self._closed = False
        #: bytes sent and received, for tests and benchmarks
        self.bytes_out = 0
        self.bytes_in = 0

    def _encode(self, message: Model) -> bytes:
        return encode_xml(message) if self.wire is WireFormat.XML else encode_json(message)

    def _decode(self, data: bytes) -> Model:
        result: Model = decode_xml(data) if self.wire is WireFormat.XML else decode_json(data)
        return result

    async def request(self, message: Model, *, token: str | None = None) -> Model:
        if self._closed:
            raise TransportClosedError("the transport is closed")
        data = self._encode(message)
        self.bytes_out += len(data)
        answer = await self.exchange(data, token=token)
        self.bytes_in += len(answer)
        return self._decode(answer)

    async def exchange(self, data: bytes, *, token: str | None = None) -> bytes:
        """The server side on raw bytes: decode (either format), answer, encode in this transport's format.
        A document that cannot be decoded is answered with ``tx:eiResponsePayload`` and its error code."""
        try:
            received: Model = decode(data)
        except ProtocolError as error:
            reply = self.service.core.error_reply(None, error)
        else:
            reply = await self.service.answer(received, token=token)
        return self._encode(reply)

    def _deliver(self, party_id: str, notice: Model) -> None:
        subscribers = self._subscriptions.get(party_id)
        if not subscribers:
            return
        decoded = self._decode(self._encode(notice))
        for sub in subscribers:
            sub.put(decoded)

    async def subscribe(self, party_id: str, *, token: str | None = None) -> MemorySubscription:
        if self._closed:
            raise TransportClosedError("the transport is closed")
        self.service.core.authorize(token, party_id)

        def forget(sub: MemorySubscription) -> None:
            subs = self._subscriptions.get(party_id, [])
            if sub in subs:
                subs.remove(sub)

        sub = MemorySubscription(forget)
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
