"""Realistic, fully populated, deterministic instances of every OpenADR 2.0b message.

Used by the round-trip, schema, fuzz, documentation and benchmark tests: the values are fixed (no clock,
no random IDs), so two calls give equal lists.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from transactive.ei.oadr.base import EiResponse, OadrMessage, QualifiedEventID
from transactive.ei.oadr.calendar import CalendarInterval
from transactive.ei.oadr.enums import (
    DataQuality,
    EventStatus,
    OptReason,
    OptType,
    ProfileName,
    ReadingType,
    ReportName,
    ReportType,
    ResponseRequired,
    ServiceName,
    SignalName,
    SignalType,
    SiScaleCode,
    TemperatureUnit,
    TransportName,
)
from transactive.ei.oadr.event import (
    ActivePeriod,
    Event,
    EventBaseline,
    EventDescriptor,
    EventResponse,
    EventSignal,
    Interval,
    OadrCreatedEvent,
    OadrDistributeEvent,
    OadrEvent,
    OadrRequestEvent,
    SignalPayload,
)
from transactive.ei.oadr.items import (
    ApparentEnergy,
    ApparentPower,
    Currency,
    CurrencyPerKW,
    CurrencyPerKWh,
    CurrencyPerThm,
    Current,
    CustomUnit,
    Frequency,
    PowerAttributes,
    PulseCount,
    ReactiveEnergy,
    ReactivePower,
    RealEnergy,
    RealPower,
    Temperature,
    Therm,
    Voltage,
)
from transactive.ei.oadr.opt import OadrCanceledOpt, OadrCancelOpt, OadrCreatedOpt, OadrCreateOpt
from transactive.ei.oadr.payloads import LoadControlLevel, LoadControlState, PayloadFloat, PayloadResourceStatus
from transactive.ei.oadr.poll import OadrPoll, OadrResponse
from transactive.ei.oadr.registration import (
    Extension,
    Info,
    OadrCanceledPartyRegistration,
    OadrCancelPartyRegistration,
    OadrCreatedPartyRegistration,
    OadrCreatePartyRegistration,
    OadrQueryRegistration,
    OadrRequestReregistration,
    Profile,
    Service,
    Transport,
)
from transactive.ei.oadr.report import (
    OadrCanceledReport,
    OadrCancelReport,
    OadrCreatedReport,
    OadrCreateReport,
    OadrRegisteredReport,
    OadrRegisterReport,
    OadrUpdatedReport,
    OadrUpdateReport,
    PendingReports,
    Report,
    ReportDescription,
    ReportInterval,
    ReportPayload,
    ReportRequest,
    ReportSpecifier,
    SamplingRate,
    SpecifierPayload,
)
from transactive.ei.oadr.target import (
    AssetRef,
    FeatureCollection,
    NodeRef,
    Polygon,
    ServiceArea,
    Target,
    TransportInterface,
)

__all__ = ["examples"]

VTN_ID = "vtn-acme-utility"
VEN_ID = "ven-7f3a9c"
REGISTRATION_ID = "reg-2026-0042"
MARKET = "http://marketcontext.acme-utility.example/summer-peak"
T0 = datetime(2026, 7, 14, 16, 0, tzinfo=UTC)
CREATED = datetime(2026, 7, 13, 9, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)
QUARTER = timedelta(minutes=15)
_ATTRS_60HZ = PowerAttributes(hertz=Decimal("60"), voltage=Decimal("120"), ac=True)


def _ok(request_id: str, description: str = "OK") -> EiResponse:
    return EiResponse(response_code=200, response_description=description, request_id=request_id)


def _feeder_area(name: str) -> ServiceArea:
    """An area; ``gml:id`` s are unique in a document, so each use gets its own ``name``."""
    return ServiceArea(
        feature_collection=FeatureCollection(
            id=name,
            polygon=Polygon(id=f"{name}-poly", pos_list="37.42 -122.08 37.43 -122.08 37.43 -122.07 37.42 -122.08"),
        )
    )


def _full_target() -> Target:
    return Target(
        aggregated_pnodes=(NodeRef(node="PG&E-AGG-NP15"),),
        end_device_assets=(AssetRef(mrid="thermostat-0017"),),
        meter_assets=(AssetRef(mrid="meter-55-0012"),),
        pnodes=(NodeRef(node="PNODE-CAISO-1234"),),
        service_areas=(_feeder_area("feeder-12"),),
        service_delivery_points=(NodeRef(node="SDP-90210-07"),),
        service_locations=(_feeder_area("site-7"),),
        transport_interfaces=(TransportInterface(point_of_receipt="SUB-12", point_of_delivery="SDP-90210-07"),),
        group_ids=("residential-north",),
        group_names=("Residential North",),
        resource_ids=("hvac-1", "pool-pump"),
        ven_ids=(VEN_ID,),
        party_ids=("party-311",),
    )


def _simple_event() -> OadrEvent:
    return OadrEvent(
        event=Event(
            descriptor=EventDescriptor(
                event_id="evt-2026-07-14-a",
                modification_number=0,
                priority=1,
                market_context=MARKET,
                created_date_time=CREATED,
                event_status=EventStatus.FAR,
                test_event="false",
            ),
            active_period=ActivePeriod(dtstart=T0, duration=2 * HOUR, notification=timedelta(days=1)),
            signals=(
                EventSignal(
                    intervals=(
                        Interval(duration=HOUR, uid="0", payloads=(SignalPayload(payload=PayloadFloat(value=1)),)),
                        Interval(duration=HOUR, uid="1", payloads=(SignalPayload(payload=PayloadFloat(value=2)),)),
                    ),
                    signal_name=SignalName.SIMPLE,
                    signal_type=SignalType.LEVEL,
                    signal_id="sig-simple-0",
                    current_value=0,
                ),
            ),
            target=Target(ven_ids=(VEN_ID,)),
        ),
        response_required=ResponseRequired.ALWAYS,
    )


def _price_event() -> OadrEvent:
    """A modified price event with several signals, a baseline and a detailed target."""
    return OadrEvent(
        event=Event(
            descriptor=EventDescriptor(
                event_id="evt-2026-07-14-b",
                modification_number=3,
                modification_date_time=datetime(2026, 7, 14, 8, 0, tzinfo=UTC),
                modification_reason="price update from day-ahead market",
                priority=2,
                market_context=MARKET,
                created_date_time=CREATED,
                event_status=EventStatus.NEAR,
                test_event="false",
                vtn_comment="Critical peak pricing, 4pm-7pm",
            ),
            active_period=ActivePeriod(
                dtstart=T0,
                duration=3 * HOUR,
                tolerance_start_after=timedelta(minutes=5),
                notification=timedelta(hours=8),
                ramp_up=timedelta(minutes=30),
                recovery=timedelta(minutes=45),
            ),
            signals=(
                EventSignal(
                    intervals=tuple(
                        Interval(
                            dtstart=T0 + i * HOUR,
                            duration=HOUR,
                            uid=str(i),
                            payloads=(SignalPayload(payload=PayloadFloat(value=price)),),
                        )
                        for i, price in enumerate((0.42, 0.65, 0.38))
                    ),
                    target=Target(resource_ids=("hvac-1",)),
                    signal_name=SignalName.ELECTRICITY_PRICE,
                    signal_type=SignalType.PRICE,
                    signal_id="sig-price-0",
                    item_base=CurrencyPerKWh(item_units="USD", si_scale_code=SiScaleCode.NONE),
                    current_value=0.21,
                ),
                EventSignal(
                    intervals=(
                        Interval(
                            duration=3 * HOUR, uid="0", payloads=(SignalPayload(payload=PayloadFloat(value=2.5)),)
                        ),
                    ),
                    signal_name=SignalName.DEMAND_CHARGE,
                    signal_type=SignalType.PRICE,
                    signal_id="sig-demand-1",
                    item_base=CurrencyPerKW(item_units="USD"),
                ),
                EventSignal(
                    intervals=(
                        Interval(duration=90 * timedelta(minutes=1), uid="0",
                                 payloads=(SignalPayload(payload=PayloadFloat(value=-5.0)),)),
                        Interval(duration=90 * timedelta(minutes=1), uid="1",
                                 payloads=(SignalPayload(payload=PayloadFloat(value=-3.5)),)),
                    ),
                    signal_name=SignalName.LOAD_DISPATCH,
                    signal_type=SignalType.DELTA,
                    signal_id="sig-dispatch-2",
                    item_base=RealPower(si_scale_code=SiScaleCode.KILO, power_attributes=_ATTRS_60HZ),
                ),
                EventSignal(
                    intervals=(
                        Interval(
                            duration=3 * HOUR, uid="0", payloads=(SignalPayload(payload=PayloadFloat(value=24)),)
                        ),
                    ),
                    signal_name="x-thermostatSetpoint",
                    signal_type=SignalType.X_LOAD_CONTROL_SETPOINT,
                    signal_id="sig-setpoint-3",
                    item_base=Temperature(item_units=TemperatureUnit.CELSIUS),
                ),
            ),
            baseline=EventBaseline(
                dtstart=T0,
                duration=3 * HOUR,
                intervals=tuple(
                    Interval(duration=HOUR, uid=str(i), payloads=(SignalPayload(payload=PayloadFloat(value=kw)),))
                    for i, kw in enumerate((12.5, 13.25, 11.0))
                ),
                baseline_id="bl-hvac-1-2026-07-14",
                resource_ids=("hvac-1",),
                baseline_name="10-in-10 customer baseline",
                item_base=RealPower(si_scale_code=SiScaleCode.KILO, power_attributes=_ATTRS_60HZ),
            ),
            target=_full_target(),
        ),
        response_required=ResponseRequired.ALWAYS,
    )


def _cancelled_event() -> OadrEvent:
    return OadrEvent(
        event=Event(
            descriptor=EventDescriptor(
                event_id="evt-2026-07-10-z",
                modification_number=1,
                modification_reason="grid conditions improved",
                market_context=MARKET,
                created_date_time=datetime(2026, 7, 9, 12, 0, tzinfo=UTC),
                event_status=EventStatus.CANCELLED,
            ),
            active_period=ActivePeriod(dtstart=datetime(2026, 7, 10, 17, 0, tzinfo=UTC), duration=HOUR),
            signals=(
                EventSignal(
                    intervals=(
                        Interval(duration=HOUR, payloads=(
                            SignalPayload(
                                payload=PayloadResourceStatus(
                                    online=True,
                                    manual_override=False,
                                    load_control_state=LoadControlState(
                                        percent_offset=LoadControlLevel(min=0, max=50, current=0, normal=0),
                                    ),
                                )
                            ),
                        )),
                    ),
                    signal_name=SignalName.LOAD_CONTROL,
                    signal_type=SignalType.X_LOAD_CONTROL_PERCENT_OFFSET,
                    signal_id="sig-lc-0",
                ),
            ),
        ),
        response_required=ResponseRequired.NEVER,
    )


def _metadata_report() -> Report:
    """A ``METADATA_TELEMETRY_USAGE`` report listing a VEN's data points, one of every item kind."""
    rate = SamplingRate(min_period=timedelta(minutes=1), max_period=timedelta(hours=1), on_change=False)
    items = (
        ("rid-power", ReportType.USAGE, RealPower(si_scale_code=SiScaleCode.KILO, power_attributes=_ATTRS_60HZ)),
        ("rid-apparent-power", ReportType.USAGE, ApparentPower(power_attributes=_ATTRS_60HZ)),
        ("rid-reactive-power", ReportType.USAGE, ReactivePower(power_attributes=_ATTRS_60HZ)),
        ("rid-energy", ReportType.USAGE, RealEnergy(si_scale_code=SiScaleCode.KILO)),
        ("rid-apparent-energy", ReportType.USAGE, ApparentEnergy()),
        ("rid-reactive-energy", ReportType.USAGE, ReactiveEnergy()),
        ("rid-voltage", ReportType.READING, Voltage()),
        ("rid-current", ReportType.READING, Current()),
        ("rid-frequency", ReportType.READING, Frequency()),
        ("rid-gas", ReportType.USAGE, Therm()),
        ("rid-temperature", ReportType.READING, Temperature(item_units=TemperatureUnit.FAHRENHEIT)),
        ("rid-pulses", ReportType.READING, PulseCount(pulse_factor=0.5)),
        ("rid-cost", ReportType.PRICE, Currency(item_units="USD")),
        ("rid-gas-price", ReportType.PRICE, CurrencyPerThm(item_units="USD")),
        ("rid-soc", ReportType.STORED_ENERGY,
         CustomUnit(item_description="state of charge", item_units="percent", si_scale_code=SiScaleCode.NONE)),
    )
    return Report(
        duration=timedelta(days=1),
        report_id="rep-meta-telemetry",
        descriptions=tuple(
            ReportDescription(
                r_id=rid,
                subject=Target(end_device_assets=(AssetRef(mrid="meter-55-0012"),)),
                data_source=Target(resource_ids=("hvac-1",)),
                report_type=kind,
                item_base=item,
                reading_type=ReadingType.DIRECT_READ,
                market_context=MARKET,
                sampling_rate=rate,
            )
            for rid, kind, item in items
        ),
        report_request_id="0",
        report_specifier_id="spec-telemetry-usage",
        report_name=ReportName.METADATA_TELEMETRY_USAGE,
        created_date_time=CREATED,
    )


def _status_metadata_report() -> Report:
    return Report(
        report_id="rep-meta-status",
        descriptions=(
            ReportDescription(
                r_id="rid-status",
                data_source=Target(resource_ids=("hvac-1",)),
                report_type=ReportType.X_RESOURCE_STATUS,
                reading_type=ReadingType.X_NOT_APPLICABLE,
                sampling_rate=SamplingRate(min_period=QUARTER, max_period=QUARTER, on_change=True),
            ),
        ),
        report_request_id="0",
        report_specifier_id="spec-telemetry-status",
        report_name=ReportName.METADATA_TELEMETRY_STATUS,
        created_date_time=CREATED,
    )


def _usage_report() -> Report:
    """A ``TELEMETRY_USAGE`` data report: four 15-minute intervals of power and energy readings."""
    return Report(
        dtstart=T0,
        duration=HOUR,
        intervals=tuple(
            ReportInterval(
                dtstart=T0 + i * QUARTER,
                duration=QUARTER,
                uid=str(i),
                payloads=(
                    ReportPayload(
                        r_id="rid-power",
                        confidence=95,
                        accuracy=0.5,
                        payload=PayloadFloat(value=kw),
                        data_quality=DataQuality.QUALITY_GOOD_NON_SPECIFIC,
                    ),
                    ReportPayload(r_id="rid-energy", payload=PayloadFloat(value=kw / 4)),
                ),
            )
            for i, kw in enumerate((10.5, 8.25, 7.0, 9.75))
        ),
        report_id="rep-usage-0001",
        report_request_id="rr-usage-1",
        report_specifier_id="spec-telemetry-usage",
        report_name=ReportName.TELEMETRY_USAGE,
        created_date_time=datetime(2026, 7, 14, 17, 0, 5, tzinfo=UTC),
    )


def _status_report() -> Report:
    return Report(
        dtstart=T0,
        duration=QUARTER,
        intervals=(
            ReportInterval(
                dtstart=T0,
                payloads=(
                    ReportPayload(
                        r_id="rid-status",
                        confidence=100,
                        payload=PayloadResourceStatus(
                            online=True,
                            manual_override=False,
                            load_control_state=LoadControlState(
                                capacity=LoadControlLevel(min=0, max=1, current=0.5, normal=1),
                                level_offset=LoadControlLevel(current=1),
                                percent_offset=LoadControlLevel(min=0, max=100, current=20, normal=0),
                                set_point=LoadControlLevel(min=18, max=28, current=24, normal=22),
                            ),
                        ),
                        data_quality="x-vendorVerified",
                    ),
                ),
            ),
        ),
        report_id="rep-status-0001",
        report_request_id="rr-status-1",
        report_specifier_id="spec-telemetry-status",
        report_name=ReportName.TELEMETRY_STATUS,
        created_date_time=datetime(2026, 7, 14, 16, 15, tzinfo=UTC),
    )


def _usage_request() -> ReportRequest:
    return ReportRequest(
        report_request_id="rr-usage-1",
        report_specifier=ReportSpecifier(
            report_specifier_id="spec-telemetry-usage",
            granularity=QUARTER,
            report_back_duration=HOUR,
            report_interval=CalendarInterval(dtstart=T0, duration=timedelta(hours=3)),
            specifier_payloads=(
                SpecifierPayload(
                    r_id="rid-power",
                    item_base=RealPower(si_scale_code=SiScaleCode.KILO, power_attributes=_ATTRS_60HZ),
                    reading_type=ReadingType.DIRECT_READ,
                ),
                SpecifierPayload(r_id="rid-energy", item_base=RealEnergy(si_scale_code=SiScaleCode.KILO),
                                 reading_type=ReadingType.NET),
            ),
        ),
    )


def _status_request() -> ReportRequest:
    return ReportRequest(
        report_request_id="rr-status-1",
        report_specifier=ReportSpecifier(
            report_specifier_id="spec-telemetry-status",
            granularity=QUARTER,
            report_back_duration=QUARTER,
            specifier_payloads=(SpecifierPayload(r_id="rid-status", reading_type=ReadingType.X_NOT_APPLICABLE),),
        ),
    )


def examples() -> list[OadrMessage]:
    """At least one instance of every OpenADR 2.0b message, more where a message has notable variants."""
    return [
        # ---- registration
        OadrQueryRegistration(request_id="req-query-1"),
        OadrCreatePartyRegistration(
            request_id="req-reg-1",
            profile_name=ProfileName.V2_0B,
            transport_name=TransportName.SIMPLE_HTTP,
            transport_address="https://ven.example.net:8443/OpenADR2/Simple/2.0b",
            report_only=False,
            xml_signature=False,
            ven_name="Building 7 gateway",
            http_pull_model=True,
        ),
        OadrCreatePartyRegistration(
            request_id="req-reg-2",
            registration_id=REGISTRATION_ID,
            ven_id=VEN_ID,
            profile_name=ProfileName.V2_0B,
            transport_name=TransportName.XMPP,
            report_only=True,
            xml_signature=True,
            ven_name="Building 7 gateway",
            http_pull_model=False,
        ),
        OadrCreatedPartyRegistration(
            response=_ok("req-reg-1"),
            registration_id=REGISTRATION_ID,
            ven_id=VEN_ID,
            vtn_id=VTN_ID,
            profiles=(
                Profile(
                    profile_name=ProfileName.V2_0A, transports=(Transport(transport_name=TransportName.SIMPLE_HTTP),)
                ),
                Profile(
                    profile_name=ProfileName.V2_0B,
                    transports=(
                        Transport(transport_name=TransportName.SIMPLE_HTTP),
                        Transport(transport_name=TransportName.XMPP),
                    ),
                ),
            ),
            requested_poll_freq=timedelta(seconds=30),
            service_specific_info=(
                Service(service_name=ServiceName.EI_EVENT, infos=(Info(key="maxEvents", value="10"),)),
                Service(
                    service_name=ServiceName.EI_REPORT,
                    infos=(Info(key="minGranularity", value="PT1M"), Info(key="maxReports", value="20")),
                ),
            ),
            extensions=(
                Extension(name="x-acme-tariffs", infos=(Info(key="tariff", value="E-TOU-C"),)),
                Extension(name="x-acme-empty"),
            ),
        ),
        OadrCreatedPartyRegistration(
            response=_ok("req-query-1"),
            vtn_id=VTN_ID,
            profiles=(Profile(profile_name=ProfileName.V2_0B,
                              transports=(Transport(transport_name=TransportName.SIMPLE_HTTP),)),),
        ),
        OadrCancelPartyRegistration(request_id="req-cancel-reg-1", registration_id=REGISTRATION_ID, ven_id=VEN_ID),
        OadrCanceledPartyRegistration(
            response=_ok("req-cancel-reg-1"), registration_id=REGISTRATION_ID, ven_id=VEN_ID
        ),
        OadrRequestReregistration(ven_id=VEN_ID),
        # ---- events
        OadrRequestEvent(request_id="req-event-1", ven_id=VEN_ID, reply_limit=10),
        OadrDistributeEvent(
            response=_ok("req-event-1"),
            request_id="dist-2026-07-14-1",
            vtn_id=VTN_ID,
            events=(_simple_event(), _price_event(), _cancelled_event()),
        ),
        OadrDistributeEvent(request_id="dist-2026-07-14-2", vtn_id=VTN_ID),
        OadrCreatedEvent(
            response=_ok("dist-2026-07-14-1"),
            event_responses=(
                EventResponse(
                    response_code=200,
                    response_description="OK",
                    request_id="dist-2026-07-14-1",
                    qualified_event_id=QualifiedEventID(event_id="evt-2026-07-14-a", modification_number=0),
                    opt_type=OptType.OPT_IN,
                ),
                EventResponse(
                    response_code=200,
                    request_id="dist-2026-07-14-1",
                    qualified_event_id=QualifiedEventID(event_id="evt-2026-07-14-b", modification_number=3),
                    opt_type=OptType.OPT_OUT,
                ),
            ),
            ven_id=VEN_ID,
        ),
        # ---- opts
        OadrCreateOpt(
            opt_id="opt-2026-07-1",
            opt_type=OptType.OPT_OUT,
            opt_reason=OptReason.X_SCHEDULE,
            market_context=MARKET,
            ven_id=VEN_ID,
            available=(
                CalendarInterval(dtstart=datetime(2026, 7, 20, 12, 0, tzinfo=UTC), duration=timedelta(hours=6)),
                CalendarInterval(dtstart=datetime(2026, 7, 21, 12, 0, tzinfo=UTC), duration=timedelta(hours=6)),
            ),
            created_date_time=datetime(2026, 7, 13, 10, 0, tzinfo=UTC),
            request_id="req-opt-1",
            target=Target(resource_ids=("pool-pump",)),
            device_class=Target(end_device_assets=(AssetRef(mrid="Pool_Pump"),)),
        ),
        OadrCreateOpt(
            opt_id="opt-2026-07-2",
            opt_type=OptType.OPT_IN,
            opt_reason=OptReason.PARTICIPATING,
            ven_id=VEN_ID,
            created_date_time=datetime(2026, 7, 14, 9, 0, tzinfo=UTC),
            request_id="req-opt-2",
            qualified_event_id=QualifiedEventID(event_id="evt-2026-07-14-b", modification_number=3),
            target=Target(resource_ids=("hvac-1",)),
        ),
        OadrCreatedOpt(response=_ok("req-opt-1"), opt_id="opt-2026-07-1"),
        OadrCancelOpt(request_id="req-cancel-opt-1", opt_id="opt-2026-07-1", ven_id=VEN_ID),
        OadrCanceledOpt(response=_ok("req-cancel-opt-1"), opt_id="opt-2026-07-1"),
        # ---- reports
        OadrRegisterReport(
            request_id="req-regrep-1",
            reports=(_metadata_report(), _status_metadata_report()),
            ven_id=VEN_ID,
        ),
        OadrRegisteredReport(
            response=_ok("req-regrep-1"),
            report_requests=(_usage_request(), _status_request()),
            ven_id=VEN_ID,
        ),
        OadrCreateReport(request_id="req-create-rep-1", report_requests=(_usage_request(),), ven_id=VEN_ID),
        OadrCreatedReport(
            response=_ok("req-create-rep-1"),
            pending_reports=PendingReports(report_request_ids=("rr-usage-1", "rr-status-1")),
            ven_id=VEN_ID,
        ),
        OadrUpdateReport(request_id="req-update-1", reports=(_usage_report(), _status_report()), ven_id=VEN_ID),
        OadrUpdatedReport(
            response=_ok("req-update-1"),
            cancel_report=OadrCancelReport(
                request_id="req-cancel-rep-2", report_request_ids=("rr-status-1",), report_to_follow=False
            ),
            ven_id=VEN_ID,
        ),
        OadrUpdatedReport(response=_ok("req-update-1")),
        OadrCancelReport(
            request_id="req-cancel-rep-1",
            report_request_ids=("rr-usage-1", "rr-status-1"),
            report_to_follow=True,
            ven_id=VEN_ID,
        ),
        OadrCanceledReport(response=_ok("req-cancel-rep-1"), pending_reports=PendingReports(), ven_id=VEN_ID),
        # ---- poll and generic answer
        OadrPoll(ven_id=VEN_ID),
        OadrResponse(response=_ok("req-update-1"), ven_id=VEN_ID),
        OadrResponse(
            response=EiResponse(response_code=452, response_description="Invalid ID", request_id="req-x"),
        ),
    ]
