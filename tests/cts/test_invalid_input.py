"""Rule: a wrong CTS document raises InvalidMessageError whose first error names the offending element."""

from __future__ import annotations

import json

import pytest

from transactive.codec import decode_json, decode_xml, encode_json, encode_xml
from transactive.ei.cts import EiCreatedTender, EiCreateTender
from transactive.errors import InvalidMessageError

from .test_expected_xml import CREATE_TENDER, CREATED_TENDER

PRODUCT = "/pyld:eiCreateTender/ei:eiTender/emix:product"


def _xml_error(text: str) -> InvalidMessageError:
    with pytest.raises(InvalidMessageError) as info:
        decode_xml(text.encode())
    return info.value


def test_missing_required_request_id_is_named() -> None:
    err = _xml_error(CREATE_TENDER.replace("<pyld:requestID>req-pv-17-0001</pyld:requestID>", ""))
    assert err.errors[0].path == "/pyld:eiCreateTender/pyld:requestID"
    assert err.errors[0].message == "required field is missing"


def test_missing_required_side_in_product_is_named() -> None:
    err = _xml_error(CREATE_TENDER.replace("<emix:side>sell</emix:side>", ""))
    assert err.errors[0].path == f"{PRODUCT}/emix:side"


def test_unknown_currency_is_refused() -> None:
    err = _xml_error(CREATE_TENDER.replace("<emix:currency>USD</emix:currency>", "<emix:currency>XYZ</emix:currency>"))
    assert err.errors[0].path == f"{PRODUCT}/emix:currency"
    assert "ISO 4217" in err.errors[0].message


def test_three_upper_case_letters_are_not_enough_for_a_currency() -> None:
    err = _xml_error(CREATE_TENDER.replace("<emix:currency>USD</emix:currency>", "<emix:currency>ABC</emix:currency>"))
    assert err.errors[0].path == f"{PRODUCT}/emix:currency"


def test_negative_quantity_is_refused() -> None:
    err = _xml_error(CREATE_TENDER.replace("<emix:quantity>2.5</emix:quantity>", "<emix:quantity>-2.5</emix:quantity>"))
    assert err.errors[0].path == f"{PRODUCT}/power:temixPower/emix:quantity"


def test_wrong_side_enum_is_refused() -> None:
    err = _xml_error(CREATE_TENDER.replace("<emix:side>sell</emix:side>", "<emix:side>give</emix:side>"))
    assert err.errors[0].path == f"{PRODUCT}/emix:side"


def test_wrong_transactive_state_enum_is_refused() -> None:
    err = _xml_error(CREATE_TENDER.replace("<emix:transactiveState>tender</emix:transactiveState>",
                                           "<emix:transactiveState>offer</emix:transactiveState>"))
    assert err.errors[0].path == f"{PRODUCT}/emix:transactiveState"


def test_wrong_si_scale_code_is_refused() -> None:
    err = _xml_error(CREATE_TENDER.replace("<scale:siScaleCode>k</scale:siScaleCode>",
                                           "<scale:siScaleCode>kilo</scale:siScaleCode>"))
    assert err.errors[0].path == f"{PRODUCT}/power:temixPower/power:energyReal/scale:siScaleCode"


def test_wrong_fixed_item_units_are_refused() -> None:
    err = _xml_error(CREATE_TENDER.replace("<power:itemUnits>Wh</power:itemUnits>",
                                           "<power:itemUnits>kWh</power:itemUnits>"))
    assert err.errors[0].path == f"{PRODUCT}/power:temixPower/power:energyReal/power:itemUnits"


def test_relative_market_context_is_refused() -> None:
    err = _xml_error(CREATE_TENDER.replace("https://lme.example.com/markets/dayahead", "dayahead market"))
    assert err.errors[0].path == f"{PRODUCT}/emix:marketContext"


def test_naive_date_time_is_refused() -> None:
    err = _xml_error(CREATE_TENDER.replace("2026-11-21T12:00:00Z", "2026-11-21T12:00:00"))
    assert err.errors[0].path == f"{PRODUCT}/xcal:dtStart/xcal:dateTime"


def test_bad_response_code_is_refused() -> None:
    err = _xml_error(CREATED_TENDER.replace("<ei:responseCode>200</ei:responseCode>",
                                            "<ei:responseCode>OK</ei:responseCode>"))
    assert err.errors[0].path == "/pyld:eiCreatedTender/ei:eiResponse/ei:responseCode"


def test_unknown_element_is_refused() -> None:
    err = _xml_error(CREATED_TENDER.replace("<ei:partyID>", "<ei:vtnID>x</ei:vtnID><ei:partyID>"))
    assert err.errors[0].path == "/pyld:eiCreatedTender/ei:vtnID"


def test_json_unknown_currency_is_refused_with_its_path() -> None:
    doc = json.loads(encode_json(decode_xml(CREATE_TENDER)))
    doc["pyld:eiCreateTender"]["ei:eiTender"][0]["emix:product"]["emix:currency"] = "EURO"
    with pytest.raises(InvalidMessageError) as info:
        decode_json(json.dumps(doc))
    assert info.value.errors[0].path == "/pyld:eiCreateTender/ei:eiTender[1]/emix:product/emix:currency"


def test_json_missing_party_is_refused_with_its_path() -> None:
    doc = json.loads(encode_json(decode_xml(CREATED_TENDER)))
    del doc["pyld:eiCreatedTender"]["ei:partyID"]
    with pytest.raises(InvalidMessageError) as info:
        decode_json(json.dumps(doc))
    assert info.value.errors[0].path == "/pyld:eiCreatedTender/ei:partyID"


def test_empty_tender_list_is_refused() -> None:
    tender = decode_xml(CREATE_TENDER)
    assert isinstance(tender, EiCreateTender)
    text = encode_xml(tender).decode()
    start, end = text.index("<ei:eiTender>"), text.index("</ei:eiTender>") + len("</ei:eiTender>")
    err = _xml_error(text[:start] + text[end:])
    assert err.errors[0].path == "/pyld:eiCreateTender/ei:eiTender"


def test_models_refuse_bad_values_on_construction() -> None:
    created = decode_xml(CREATED_TENDER)
    assert isinstance(created, EiCreatedTender)
    with pytest.raises(ValueError, match=r"responseCode|pattern"):
        created.response.replace(response_code="2000")
    assert created.response.replace(response_code=404).response_code == "404"
