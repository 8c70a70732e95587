"""The enumerations of the OpenADR 2.0b schema set (values exactly as the XSDs list them)."""

from __future__ import annotations

from enum import StrEnum

from transactive.emix.base import SiScaleCode

__all__ = [
    "CurrencyItemDescription",
    "DataQuality",
    "EventStatus",
    "OptReason",
    "OptType",
    "ProfileName",
    "ReadingType",
    "ReportName",
    "ReportType",
    "ResponseRequired",
    "SchemaVersion",
    "ServiceName",
    "SiScaleCode",
    "SignalName",
    "SignalType",
    "TemperatureUnit",
    "TransportName",
]


class EventStatus(StrEnum):
    """``ei:EventStatusEnumeratedType``."""

    NONE = "none"
    FAR = "far"
    NEAR = "near"
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class SignalType(StrEnum):
    """``ei:SignalTypeEnumeratedType``."""

    DELTA = "delta"
    LEVEL = "level"
    MULTIPLIER = "multiplier"
    PRICE = "price"
    PRICE_MULTIPLIER = "priceMultiplier"
    PRICE_RELATIVE = "priceRelative"
    SETPOINT = "setpoint"
    X_LOAD_CONTROL_CAPACITY = "x-loadControlCapacity"
    X_LOAD_CONTROL_LEVEL_OFFSET = "x-loadControlLevelOffset"
    X_LOAD_CONTROL_PERCENT_OFFSET = "x-loadControlPercentOffset"
    X_LOAD_CONTROL_SETPOINT = "x-loadControlSetpoint"


class SignalName(StrEnum):
    """``ei:SignalNameEnumeratedType`` (``ei:signalName`` also takes ``x-`` extension tokens)."""

    SIMPLE = "SIMPLE"
    SIMPLE_LOWER = "simple"
    ELECTRICITY_PRICE = "ELECTRICITY_PRICE"
    ENERGY_PRICE = "ENERGY_PRICE"
    DEMAND_CHARGE = "DEMAND_CHARGE"
    BID_PRICE = "BID_PRICE"
    BID_LOAD = "BID_LOAD"
    BID_ENERGY = "BID_ENERGY"
    CHARGE_STATE = "CHARGE_STATE"
    LOAD_DISPATCH = "LOAD_DISPATCH"
    LOAD_CONTROL = "LOAD_CONTROL"


class ResponseRequired(StrEnum):
    """``oadr:ResponseRequiredType``: whether the VEN must answer an event with ``oadrCreatedEvent``."""

    ALWAYS = "always"
    NEVER = "never"


class OptType(StrEnum):
    """``ei:OptTypeType``."""

    OPT_IN = "optIn"
    OPT_OUT = "optOut"


class OptReason(StrEnum):
    """``ei:OptReasonEnumeratedType`` (``ei:optReason`` also takes ``x-`` extension tokens)."""

    ECONOMIC = "economic"
    EMERGENCY = "emergency"
    MUST_RUN = "mustRun"
    NOT_PARTICIPATING = "notParticipating"
    OUTAGE_RUN_STATUS = "outageRunStatus"
    OVERRIDE_STATUS = "overrideStatus"
    PARTICIPATING = "participating"
    X_SCHEDULE = "x-schedule"


class ReportName(StrEnum):
    """``ei:reportNameEnumeratedType`` (``ei:reportName`` also takes ``x-`` extension tokens)."""

    METADATA_HISTORY_USAGE = "METADATA_HISTORY_USAGE"
    HISTORY_USAGE = "HISTORY_USAGE"
    METADATA_HISTORY_GREENBUTTON = "METADATA_HISTORY_GREENBUTTON"
    HISTORY_GREENBUTTON = "HISTORY_GREENBUTTON"
    METADATA_TELEMETRY_USAGE = "METADATA_TELEMETRY_USAGE"
    TELEMETRY_USAGE = "TELEMETRY_USAGE"
    METADATA_TELEMETRY_STATUS = "METADATA_TELEMETRY_STATUS"
    TELEMETRY_STATUS = "TELEMETRY_STATUS"


class ReportType(StrEnum):
    """``ei:ReportEnumeratedType`` (``ei:reportType`` also takes ``x-`` extension tokens)."""

    READING = "reading"
    USAGE = "usage"
    DEMAND = "demand"
    SET_POINT = "setPoint"
    DELTA_USAGE = "deltaUsage"
    DELTA_SET_POINT = "deltaSetPoint"
    DELTA_DEMAND = "deltaDemand"
    BASELINE = "baseline"
    DEVIATION = "deviation"
    AVG_USAGE = "avgUsage"
    AVG_DEMAND = "avgDemand"
    OPERATING_STATE = "operatingState"
    UP_REGULATION_CAPACITY_AVAILABLE = "upRegulationCapacityAvailable"
    DOWN_REGULATION_CAPACITY_AVAILABLE = "downRegulationCapacityAvailable"
    REGULATION_SETPOINT = "regulationSetpoint"
    STORED_ENERGY = "storedEnergy"
    TARGET_ENERGY_STORAGE = "targetEnergyStorage"
    AVAILABLE_ENERGY_STORAGE = "availableEnergyStorage"
    PRICE = "price"
    LEVEL = "level"
    POWER_FACTOR = "powerFactor"
    PERCENT_USAGE = "percentUsage"
    PERCENT_DEMAND = "percentDemand"
    X_RESOURCE_STATUS = "x-resourceStatus"


class ReadingType(StrEnum):
    """``ei:ReadingTypeEnumeratedType`` (``ei:readingType`` also takes ``x-`` extension tokens)."""

    DIRECT_READ = "Direct Read"
    NET = "Net"
    ALLOCATED = "Allocated"
    ESTIMATED = "Estimated"
    SUMMED = "Summed"
    DERIVED = "Derived"
    MEAN = "Mean"
    PEAK = "Peak"
    HYBRID = "Hybrid"
    CONTRACT = "Contract"
    PROJECTED = "Projected"
    X_RMS = "x-RMS"
    X_NOT_APPLICABLE = "x-notApplicable"


class DataQuality(StrEnum):
    """``oadr:oadrDataQualityType`` (``oadr:oadrDataQuality`` also takes ``x-`` extension tokens)."""

    NO_QUALITY_NO_VALUE = "No Quality - No Value"
    NO_NEW_VALUE_PREVIOUS_VALUE_USED = "No New Value - Previous Value Used"
    QUALITY_BAD_NON_SPECIFIC = "Quality Bad - Non Specific"
    QUALITY_BAD_CONFIGURATION_ERROR = "Quality Bad - Configuration Error"
    QUALITY_BAD_NOT_CONNECTED = "Quality Bad - Not Connected"
    QUALITY_BAD_DEVICE_FAILURE = "Quality Bad - Device Failure"
    QUALITY_BAD_SENSOR_FAILURE = "Quality Bad - Sensor Failure"
    QUALITY_BAD_LAST_KNOWN_VALUE = "Quality Bad - Last Known Value"
    QUALITY_BAD_COMM_FAILURE = "Quality Bad - Comm Failure"
    QUALITY_BAD_OUT_OF_SERVICE = "Quality Bad - Out of Service"
    QUALITY_UNCERTAIN_NON_SPECIFIC = "Quality Uncertain - Non Specific"
    QUALITY_UNCERTAIN_LAST_USABLE_VALUE = "Quality Uncertain - Last Usable Value"
    QUALITY_UNCERTAIN_SENSOR_NOT_ACCURATE = "Quality Uncertain - Sensor Not Accurate"
    QUALITY_UNCERTAIN_EU_UNITS_EXCEEDED = "Quality Uncertain - EU Units Exceeded"
    QUALITY_UNCERTAIN_SUB_NORMAL = "Quality Uncertain - Sub Normal"
    QUALITY_GOOD_NON_SPECIFIC = "Quality Good - Non Specific"
    QUALITY_GOOD_LOCAL_OVERRIDE = "Quality Good - Local Override"
    QUALITY_LIMIT_FIELD_NOT = "Quality Limit - Field/Not"
    QUALITY_LIMIT_FIELD_LOW = "Quality Limit - Field/Low"
    QUALITY_LIMIT_FIELD_HIGH = "Quality Limit - Field/High"
    QUALITY_LIMIT_FIELD_CONSTANT = "Quality Limit - Field/Constant"


class SchemaVersion(StrEnum):
    """``ei:schemaVersionEnumeratedType`` (``@ei:schemaVersion`` also takes ``x-`` extension tokens)."""

    V2_0A = "2.0a"
    V2_0B = "2.0b"


class ProfileName(StrEnum):
    """``oadr:oadrProfileType``."""

    V2_0A = "2.0a"
    V2_0B = "2.0b"


class TransportName(StrEnum):
    """``oadr:oadrTransportType``."""

    SIMPLE_HTTP = "simpleHttp"
    XMPP = "xmpp"


class ServiceName(StrEnum):
    """``oadr:oadrServiceNameType``."""

    EI_EVENT = "EiEvent"
    EI_OPT = "EiOpt"
    EI_REPORT = "EiReport"
    EI_REGISTER_PARTY = "EiRegisterParty"
    OADR_POLL = "OadrPoll"


# scale:SiScaleCodeType is the same EMIX siscale namespace and enumeration in OpenADR and in CTS:
# one enum, transactive.emix.SiScaleCode (re-exported here).


class TemperatureUnit(StrEnum):
    """``oadr:temperatureUnitType``."""

    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


class CurrencyItemDescription(StrEnum):
    """``oadr:currencyItemDescriptionType``."""

    CURRENCY = "currency"
    CURRENCY_PER_KW = "currencyPerKW"
    CURRENCY_PER_KWH = "currencyPerKWh"
