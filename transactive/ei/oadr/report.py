"""OpenADR 2.0b reports (EiReport service).

A VEN describes the reports it can make (``oadrRegisterReport`` with ``oadrReportDescription`` s, answered by
``oadrRegisteredReport``); the VTN asks for some (``oadrCreateReport`` with ``oadrReportRequest`` s →
``oadrCreatedReport``); the VEN delivers data (``oadrUpdateReport`` with report intervals →
``oadrUpdatedReport``); either side stops one (``oadrCancelReport`` → ``oadrCanceledReport``).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from transactive.ei.oadr.base import EiResponse, OadrMessage, OadrModel
from transactive.ei.oadr.calendar import CalendarInterval
from transactive.ei.oadr.items import ItemBase
from transactive.ei.oadr.payloads import PayloadBase
from transactive.ei.oadr.target import Target
from transactive.ei.oadr.types import (
    DataQualityValue,
    OadrDateTime,
    OadrDuration,
    ReadingTypeValue,
    ReportNameValue,
    ReportTypeValue,
)
from transactive.model import Xml
from transactive.model.registry import message

__all__ = [
    "OadrCancelReport",
    "OadrCanceledReport",
    "OadrCreateReport",
    "OadrCreatedReport",
    "OadrRegisterReport",
    "OadrRegisteredReport",
    "OadrUpdateReport",
    "OadrUpdatedReport",
    "PendingReports",
    "Report",
    "ReportDescription",
    "ReportInterval",
    "ReportPayload",
    "ReportRequest",
    "ReportSpecifier",
    "SamplingRate",
    "SpecifierPayload",
]


class SamplingRate(OadrModel):
    """``oadr:oadrSamplingRate``: how often a data point can be sampled."""

    min_period: Annotated[OadrDuration, Xml("oadr:oadrMinPeriod")]
    max_period: Annotated[OadrDuration, Xml("oadr:oadrMaxPeriod")]
    #: True: the point is also reported when it changes
    on_change: Annotated[bool, Xml("oadr:oadrOnChange")]


class ReportDescription(OadrModel):
    """``oadr:oadrReportDescription``: one data point (``r_id``) a VEN can report, and what it measures."""

    r_id: Annotated[str, Xml("ei:rID")]
    #: the device or resource the data is about
    subject: Annotated[Target | None, Xml("ei:reportSubject")] = None
    #: where the data comes from
    data_source: Annotated[Target | None, Xml("ei:reportDataSource")] = None
    #: ``usage``, ``demand``, ... (:class:`~transactive.ei.oadr.enums.ReportType`) or ``x-...``
    report_type: Annotated[ReportTypeValue, Xml("ei:reportType")]
    item_base: Annotated[ItemBase | None, Xml("*")] = None
    #: ``Direct Read``, ``Net``, ... (:class:`~transactive.ei.oadr.enums.ReadingType`) or ``x-...``
    reading_type: Annotated[ReadingTypeValue, Xml("ei:readingType")]
    market_context: Annotated[str | None, Xml("emix:marketContext")] = None
    sampling_rate: Annotated[SamplingRate | None, Xml("oadr:oadrSamplingRate")] = None


class ReportPayload(OadrModel):
    """``oadr:oadrReportPayload``: the value of one data point in one report interval."""

    __tag__ = "oadr:oadrReportPayload"
    r_id: Annotated[str, Xml("ei:rID")]
    #: percent, 0-100
    confidence: Annotated[int | None, Xml("ei:confidence"), Field(ge=0, le=100)] = None
    accuracy: Annotated[float | None, Xml("ei:accuracy")] = None
    payload: Annotated[PayloadBase, Xml("*")]
    #: ``Quality Good - Non Specific``, ... (:class:`~transactive.ei.oadr.enums.DataQuality`) or ``x-...``
    data_quality: Annotated[DataQualityValue | None, Xml("oadr:oadrDataQuality")] = None


class ReportInterval(OadrModel):
    """``ei:interval`` of a report: the values of one or more data points for one period."""

    dtstart: Annotated[OadrDateTime | None, Xml("xcal:dtstart/xcal:date-time")] = None
    duration: Annotated[OadrDuration | None, Xml("xcal:duration/xcal:duration")] = None
    uid: Annotated[str | None, Xml("xcal:uid/xcal:text")] = None
    payloads: Annotated[tuple[ReportPayload, ...], Xml("*"), Field(min_length=1)]


class Report(OadrModel):
    """``oadr:oadrReport``: a report's metadata (descriptions) or data (intervals), or both.

    In ``oadrRegisterReport`` it carries ``descriptions`` (a ``METADATA_...`` report); in ``oadrUpdateReport``
    it carries ``intervals`` of data for a requested report.
    """

    dtstart: Annotated[OadrDateTime | None, Xml("xcal:dtstart/xcal:date-time")] = None
    duration: Annotated[OadrDuration | None, Xml("xcal:duration/xcal:duration")] = None
    intervals: Annotated[tuple[ReportInterval, ...], Xml("strm:intervals/ei:interval")] = ()
    report_id: Annotated[str | None, Xml("ei:eiReportID")] = None
    descriptions: Annotated[tuple[ReportDescription, ...], Xml("oadr:oadrReportDescription")] = ()
    #: the request this report answers (``"0"`` for metadata reports nobody asked for)
    report_request_id: Annotated[str, Xml("ei:reportRequestID")]
    #: the VEN's name for this kind of report
    report_specifier_id: Annotated[str, Xml("ei:reportSpecifierID")]
    #: ``TELEMETRY_USAGE``, ... (:class:`~transactive.ei.oadr.enums.ReportName`) or ``x-...``
    report_name: Annotated[ReportNameValue | None, Xml("ei:reportName")] = None
    created_date_time: Annotated[OadrDateTime, Xml("ei:createdDateTime")]


class SpecifierPayload(OadrModel):
    """``ei:specifierPayload``: one data point asked for in a report request."""

    r_id: Annotated[str, Xml("ei:rID")]
    item_base: Annotated[ItemBase | None, Xml("*")] = None
    reading_type: Annotated[ReadingTypeValue, Xml("ei:readingType")]


class ReportSpecifier(OadrModel):
    """``ei:reportSpecifier``: which data points of a report the VTN wants, how often, and for how long."""

    report_specifier_id: Annotated[str, Xml("ei:reportSpecifierID")]
    #: sampling interval (zero: as the VEN chooses)
    granularity: Annotated[OadrDuration, Xml("xcal:granularity/xcal:duration")]
    #: how often the VEN sends an ``oadrUpdateReport`` (zero: once)
    report_back_duration: Annotated[OadrDuration, Xml("ei:reportBackDuration/xcal:duration")]
    #: when the report runs (absent: from now on, until cancelled)
    report_interval: Annotated[CalendarInterval | None, Xml("ei:reportInterval")] = None
    specifier_payloads: Annotated[
        tuple[SpecifierPayload, ...], Xml("ei:specifierPayload"), Field(min_length=1)
    ]


class ReportRequest(OadrModel):
    """``oadr:oadrReportRequest``: one report the VTN asks for."""

    report_request_id: Annotated[str, Xml("ei:reportRequestID")]
    report_specifier: Annotated[ReportSpecifier, Xml("ei:reportSpecifier")]


class PendingReports(OadrModel):
    """``oadr:oadrPendingReports``: the reports (by ``reportRequestID``) still to be delivered; may be empty."""

    report_request_ids: Annotated[tuple[str, ...], Xml("ei:reportRequestID")] = ()


@message
class OadrRegisterReport(OadrMessage):
    """``oadr:oadrRegisterReport``: a party lists the reports it can make (their metadata)."""

    __tag__ = "oadr:oadrRegisterReport"
    request_id: Annotated[str, Xml("pyld:requestID")]
    reports: Annotated[tuple[Report, ...], Xml("oadr:oadrReport")] = ()
    ven_id: Annotated[str | None, Xml("ei:venID")] = None
    #: set when the registration answers a request for metadata
    report_request_id: Annotated[str | None, Xml("ei:reportRequestID")] = None


@message
class OadrRegisteredReport(OadrMessage):
    """``oadr:oadrRegisteredReport``: acknowledges ``oadrRegisterReport``, optionally asking for reports."""

    __tag__ = "oadr:oadrRegisteredReport"
    response: Annotated[EiResponse, Xml("ei:eiResponse")]
    report_requests: Annotated[tuple[ReportRequest, ...], Xml("oadr:oadrReportRequest")] = ()
    ven_id: Annotated[str | None, Xml("ei:venID")] = None


@message
class OadrCreateReport(OadrMessage):
    """``oadr:oadrCreateReport``: a party asks for one or more reports."""

    __tag__ = "oadr:oadrCreateReport"
    request_id: Annotated[str, Xml("pyld:requestID")]
    report_requests: Annotated[tuple[ReportRequest, ...], Xml("oadr:oadrReportRequest"), Field(min_length=1)]
    ven_id: Annotated[str | None, Xml("ei:venID")] = None


@message
class OadrCreatedReport(OadrMessage):
    """``oadr:oadrCreatedReport``: acknowledges ``oadrCreateReport`` and lists the reports now running."""

    __tag__ = "oadr:oadrCreatedReport"
    response: Annotated[EiResponse, Xml("ei:eiResponse")]
    #: every report still to be delivered
    pending_reports: Annotated[PendingReports, Xml("oadr:oadrPendingReports")] = PendingReports()
    ven_id: Annotated[str | None, Xml("ei:venID")] = None


@message
class OadrUpdateReport(OadrMessage):
    """``oadr:oadrUpdateReport``: a party delivers report data."""

    __tag__ = "oadr:oadrUpdateReport"
    request_id: Annotated[str, Xml("pyld:requestID")]
    reports: Annotated[tuple[Report, ...], Xml("oadr:oadrReport")] = ()
    ven_id: Annotated[str | None, Xml("ei:venID")] = None


@message
class OadrCancelReport(OadrMessage):
    """``oadr:oadrCancelReport``: a party stops one or more reports (also nested in ``oadrUpdatedReport``)."""

    __tag__ = "oadr:oadrCancelReport"
    request_id: Annotated[str, Xml("pyld:requestID")]
    report_request_ids: Annotated[tuple[str, ...], Xml("ei:reportRequestID"), Field(min_length=1)]
    #: True: the reporting party sends the data it has collected so far before stopping
    report_to_follow: Annotated[bool, Xml("pyld:reportToFollow")] = False
    ven_id: Annotated[str | None, Xml("ei:venID")] = None


@message
class OadrUpdatedReport(OadrMessage):
    """``oadr:oadrUpdatedReport``: acknowledges report data, optionally cancelling reports."""

    __tag__ = "oadr:oadrUpdatedReport"
    response: Annotated[EiResponse, Xml("ei:eiResponse")]
    cancel_report: Annotated[OadrCancelReport | None, Xml("oadr:oadrCancelReport")] = None
    ven_id: Annotated[str | None, Xml("ei:venID")] = None


@message
class OadrCanceledReport(OadrMessage):
    """``oadr:oadrCanceledReport``: acknowledges ``oadrCancelReport`` and lists the reports still running."""

    __tag__ = "oadr:oadrCanceledReport"
    response: Annotated[EiResponse, Xml("ei:eiResponse")]
    #: every report still to be delivered
    pending_reports: Annotated[PendingReports, Xml("oadr:oadrPendingReports")] = PendingReports()
    ven_id: Annotated[str | None, Xml("ei:venID")] = None

