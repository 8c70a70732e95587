"""Every request the VTN handles has its own error reply, and the client reads code and field back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from transactive.ei.cts.examples import examples as cts_examples
from transactive.errors import ResponseCode
from transactive.protocol.replies import error_reply
from transactive.services import HANDLERS, EiResponsePayload, OutsideLimitsError, RequestRefusedError, check_reply
from transactive.services.examples import examples as ext_examples

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)
REQUESTS = {type(m): m for m in [*cts_examples(), *ext_examples()] if type(m) in HANDLERS}


def test_every_handled_request_has_an_example() -> None:
    assert set(REQUESTS) == set(HANDLERS)


@pytest.mark.parametrize("request_type", sorted(HANDLERS, key=lambda c: c.__tag__ or ""),
                         ids=lambda c: c.__tag__)
def test_error_reply_is_the_requests_own_reply_and_round_trips_the_field(request_type: type) -> None:
    error = OutsideLimitsError("quantity 1000 kWh is outside [0.1, 100]", field="ei:eiTender[1]/emix:quantity")
    reply = error_reply(REQUESTS[request_type], error, market_party_id="m", now=NOW)
    assert not isinstance(reply, EiResponsePayload)
    with pytest.raises(RequestRefusedError) as info:
        check_reply(reply)
    assert info.value.response_code == ResponseCode.INVALID_DATA
    assert (info.value.field, info.value.message) == ("ei:eiTender[1]/emix:quantity",
                                                      "quantity 1000 kWh is outside [0.1, 100]")
    assert info.value.reply is reply
