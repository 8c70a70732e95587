"""Rule: hand-written CTS documents decode into exactly the models the examples build."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from lxml import etree

from transactive.codec import decode_json, decode_xml, encode_xml
from transactive.ei.cts import EiCreatedTender, EiCreateTender, EiResponse, EiTender
from transactive.emix import EnergyReal, MeterAsset, Price, Product, Side, SiScaleCode, TemixPower, TransactiveState
from transactive.schemas import validate

NS = (
    'xmlns:pyld="http://docs.oasis-open.org/ns/energyinterop/201110/payloads/cts.04" '
    'xmlns:ei="http://docs.oasis-open.org/ns/energyinterop/201110/cts.04" '
    'xmlns:emix="http://docs.oasis-open.org/ns/emix/2011/06/cts.04" '
    'xmlns:power="http://docs.oasis-open.org/ns/emix/2011/06/power/cts.04" '
    'xmlns:scale="http://docs.oasis-open.org/ns/emix/2011/06/siscale" '
    'xmlns:xcal="http://docs.oasis-open.org/ws-calendar/ns/min-xcal/2015/12" '
    'xmlns:strm="http://docs.oasis-open.org/ws-calendar/ns/streams/201606"'
)

CREATE_TENDER = f"""<?xml version="1.0" encoding="UTF-8"?>
<pyld:eiCreateTender {NS}>
  <pyld:requestID>req-pv-17-0001</pyld:requestID>
  <ei:partyID>party-pv-roof-17</ei:partyID>
  <ei:counterPartyID>market-lme</ei:counterPartyID>
  <ei:eiTender>
    <ei:tenderID>tender-pv-17-0001</ei:tenderID>
    <emix:product>
      <xcal:dtStart><xcal:dateTime>2026-11-21T12:00:00Z</xcal:dateTime></xcal:dtStart>
      <xcal:duration>PT15M</xcal:duration>
      <power:temixPower>
        <power:meterAsset><power:mrid>meter-7f3a-0017</power:mrid></power:meterAsset>
        <emix:price><emix:value>0.12</emix:value></emix:price>
        <power:energyReal>
          <power:itemDescription>RealEnergy</power:itemDescription>
          <power:itemUnits>Wh</power:itemUnits>
          <scale:siScaleCode>k</scale:siScaleCode>
        </power:energyReal>
        <emix:quantity>2.5</emix:quantity>
      </power:temixPower>
      <emix:uid>pv-17-20261121T1200</emix:uid>
      <emix:transactiveState>tender</emix:transactiveState>
      <emix:currency>USD</emix:currency>
      <emix:marketContext>https://lme.example.com/markets/dayahead</emix:marketContext>
      <emix:side>sell</emix:side>
    </emix:product>
  </ei:eiTender>
</pyld:eiCreateTender>
"""

EXPECTED_TENDER = EiCreateTender(
    request_id="req-pv-17-0001",
    party_id="party-pv-roof-17",
    counter_party_id="market-lme",
    tenders=(EiTender(tender_id="tender-pv-17-0001", item=Product(
        dtstart=datetime(2026, 11, 21, 12, tzinfo=UTC),
        duration=timedelta(minutes=15),
        payload=TemixPower(interface=MeterAsset(mrid="meter-7f3a-0017"), price=Price(value=Decimal("0.12")),
                           energy_item=EnergyReal(si_scale_code=SiScaleCode.KILO), quantity=2.5),
        uid="pv-17-20261121T1200",
        transactive_state=TransactiveState.TENDER,
        currency="USD",
        market_context="https://lme.example.com/markets/dayahead",
        side=Side.SELL,
    )),),
)


def test_hand_written_eicreatetender_decodes_to_the_expected_model() -> None:
    decoded = decode_xml(CREATE_TENDER.encode())
    assert decoded == EXPECTED_TENDER
    product = decoded.tenders[0].item
    assert isinstance(product, Product)
    assert product.payload.price == Price(value=Decimal("0.12"))
    assert isinstance(product.payload.price.value, Decimal)


def test_encoding_the_expected_tender_gives_the_hand_written_elements() -> None:
    ours = etree.fromstring(encode_xml(EXPECTED_TENDER))
    theirs = etree.fromstring(CREATE_TENDER.encode(), etree.XMLParser(remove_blank_text=True))
    assert etree.tostring(ours, method="c14n") == etree.tostring(theirs, method="c14n")


def test_hand_written_json_eicreatetender_decodes_to_the_expected_model() -> None:
    doc = """{"pyld:eiCreateTender": {"pyld:requestID": "req-pv-17-0001", "ei:partyID": "party-pv-roof-17",
      "ei:counterPartyID": "market-lme", "ei:eiTender": [{"ei:tenderID": "tender-pv-17-0001",
      "emix:product": {"xcal:dtStart": {"xcal:dateTime": "2026-11-21T12:00:00Z"}, "xcal:duration": "PT15M",
        "power:temixPower": {"power:meterAsset": {"power:mrid": "meter-7f3a-0017"},
          "emix:price": {"emix:value": 0.12},
          "power:energyReal": {"power:itemDescription": "RealEnergy", "power:itemUnits": "Wh",
                               "scale:siScaleCode": "k"},
          "emix:quantity": 2.5},
        "emix:uid": "pv-17-20261121T1200", "emix:transactiveState": "tender", "emix:currency": "USD",
        "emix:marketContext": "https://lme.example.com/markets/dayahead", "emix:side": "sell"}}]}}"""
    assert decode_json(doc) == EXPECTED_TENDER


CREATED_TENDER = f"""<pyld:eiCreatedTender {NS}>
  <ei:eiResponse>
    <ei:responseCode>200</ei:responseCode>
    <ei:responseDescription>OK</ei:responseDescription>
    <ei:refID>req-pv-17-0001</ei:refID>
    <ei:createdDateTime>2026-11-21T11:50:03Z</ei:createdDateTime>
  </ei:eiResponse>
  <ei:partyID>party-pv-roof-17</ei:partyID>
  <ei:counterPartyID>market-lme</ei:counterPartyID>
  <ei:tenderID>tender-pv-17-0001</ei:tenderID>
</pyld:eiCreatedTender>"""


def test_hand_written_eicreatedtender_is_valid_and_decodes_to_the_expected_model() -> None:
    assert validate(etree.fromstring(CREATED_TENDER.encode())).valid
    decoded = decode_xml(CREATED_TENDER)
    assert decoded == EiCreatedTender(
        response=EiResponse(response_code="200", response_description="OK", ref_id="req-pv-17-0001",
                            created_date_time=datetime(2026, 11, 21, 11, 50, 3, tzinfo=UTC)),
        party_id="party-pv-roof-17", counter_party_id="market-lme", tender_ids=("tender-pv-17-0001",),
    )
    assert decoded.response.ok
