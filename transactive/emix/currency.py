"""ISO 4217 currency codes as the CTS schemas enumerate them.

``emix:currency`` has the type ``clm5ISO42173A:ISO3AlphaCurrencyCodeContentType`` (UN/CEFACT code list 5,
ISO 4217 alpha-3, 2010-04-07, as corrected in the CTS rev 0.4 set). The codes below are exactly the
enumeration of the shipped ``xsd/cts/xsd/clm5ISO42173A.xsd``; a test checks that they stay equal. Codes
introduced after 2010 (e.g. ``BYN``, ``VES``) are not in that list, so a schema-valid document cannot
carry them, and neither can these models.
"""

from __future__ import annotations

__all__ = ["ISO4217_CODES", "check_currency"]

#: the 181 alpha-3 codes of ``clm5ISO42173A.xsd``
ISO4217_CODES: frozenset[str] = frozenset(
    (
        "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN",
        "BHD", "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYR", "BZD", "CAD", "CDF",
        "CHE", "CHF", "CHW", "CLF", "CLP", "CNY", "COP", "COU", "CRC", "CUC", "CUP", "CVE", "CZK", "DJF",
        "DKK", "DOP", "DZD", "EEK", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP",
        "GMD", "GNF", "GTQ", "GWP", "GYD", "HKD", "HNL", "HRK", "HTG", "HUF", "IDR", "ILS", "INR", "IQD",
        "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT",
        "LAK", "LBP", "LKR", "LRD", "LSL", "LTL", "LVL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT",
        "MOP", "MRO", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR",
        "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF",
        "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLL", "SOS", "SRD", "STD", "SVC", "SYP", "SZL",
        "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "USN", "USS",
        "UYI", "UYU", "UZS", "VEF", "VND", "VUV", "WST", "XAF", "XAG", "XAU", "XBA", "XBB", "XBC", "XBD",
        "XCD", "XDR", "XFU", "XOF", "XPD", "XPF", "XPT", "XTS", "XXX", "YER", "ZAR", "ZMK", "ZWL",
    )
)


def check_currency(code: str) -> str:
    """Return ``code`` if it is one of :data:`ISO4217_CODES`, else raise :class:`ValueError`."""
    if code not in ISO4217_CODES:
        raise ValueError(f"{code!r} is not an ISO 4217 currency code of the CTS code list (e.g. USD, EUR)")
    return code
