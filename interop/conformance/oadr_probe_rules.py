"""The rules ``probe --role vtn --standard openadr20b`` checks beyond the shared ones (:mod:`.rules`).

Conformance rules of the 2.0b Profile Specification are cited by number only where the number was checked
(2, 8, 9, 14, 21); the other requirements are cited by the service or section that states them. Every
``text`` is our own short reading of the requirement.
"""

from __future__ import annotations

from transactive.interop.conformance.model import Rule
from transactive.interop.conformance.rules import SPEC_20B

__all__ = [
    "CANCEL_REGISTRATION",
    "CREATED_EVENT",
    "EVENT_LIST",
    "EVENT_STATUS",
    "EVENT_VERSION",
    "EXCHANGE_PATTERN",
    "OPT",
    "POLL",
    "QUERY_REGISTRATION",
    "REGISTRATION",
    "REPORT_REGISTRATION",
    "REPORT_UPDATE",
    "REREGISTRATION",
    "RULE_2",
    "RULE_8",
    "RULE_9",
    "RULE_14",
    "VEN_ID",
]

EXCHANGE_PATTERN = Rule(SPEC_20B, "message exchange patterns (services EiRegisterParty, EiEvent, EiOpt, "
                        "EiReport, OadrPoll)",
                        "each request is answered with the payload its service pairs with it (oadrRequestEvent "
                        "with oadrDistributeEvent, oadrCreateOpt with oadrCreatedOpt, ...); a refusal may also "
                        "come as an oadrResponse carrying the error code")

QUERY_REGISTRATION = Rule(SPEC_20B, "EiRegisterParty service (oadrQueryRegistration)",
                          "a registration query is answered with oadrCreatedPartyRegistration naming the vtnID "
                          "and the profiles and transports offered, among them 2.0b over simpleHttp")

REGISTRATION = Rule(SPEC_20B, "EiRegisterParty service (oadrCreatePartyRegistration)",
                    "an accepted registration is answered with oadrCreatedPartyRegistration carrying the venID and "
                    "registrationID the VTN assigns and, for a pulling VEN, the poll frequency it asks for")

REREGISTRATION = Rule(SPEC_20B, "EiRegisterParty service (re-registration)",
                      "a VEN registering again with its registrationID keeps its registration and its venID")

CANCEL_REGISTRATION = Rule(SPEC_20B, "EiRegisterParty service (oadrCancelPartyRegistration)",
                           "a cancellation is answered with oadrCanceledPartyRegistration; afterwards the venID no "
                           "longer speaks for a registration (refused, or asked to register again)")

RULE_2 = Rule(SPEC_20B, "conformance rule 2",
              "every interval of an event signal carries a uid; within a signal they count 0, 1, 2, ...")

RULE_8 = Rule(SPEC_20B, "conformance rule 8",
              "the durations of an event signal's intervals add up to the duration of the event's active period")

RULE_9 = Rule(SPEC_20B, "conformance rule 9", "the payload values of a SIMPLE signal are 0, 1, 2 or 3")

RULE_14 = Rule(SPEC_20B, "conformance rule 14",
               "a SIMPLE signal's currentValue, when present, is 0 unless the event is active")

EVENT_STATUS = Rule(SPEC_20B, "EiEvent service (eventStatus)",
                    "an event's status agrees with its times: far or near before its active period, active "
                    "within it, completed after it, cancelled once cancelled")

EVENT_VERSION = Rule(SPEC_20B, "EiEvent service (modificationNumber)",
                     "an event's modificationNumber never decreases, and its content changes only together with a "
                     "higher modificationNumber")

EVENT_LIST = Rule(SPEC_20B, "EiEvent service (oadrDistributeEvent)",
                  "every oadrDistributeEvent lists all the VEN's pending and active events: an event leaves the "
                  "list only once it completed or after its cancellation was distributed")

CREATED_EVENT = Rule(SPEC_20B, "EiEvent service (oadrCreatedEvent)",
                     "a VEN's answer to the events it was sent is acknowledged with an oadrResponse of code 200")

OPT = Rule(SPEC_20B, "EiOpt service",
           "a 2.0b VTN takes opt schedules: oadrCreateOpt is answered with oadrCreatedOpt echoing the optID, "
           "oadrCancelOpt with oadrCanceledOpt")

REPORT_REGISTRATION = Rule(SPEC_20B, "EiReport service (oadrRegisterReport)",
                           "a VEN's report metadata is acknowledged with oadrRegisteredReport; a report request "
                           "names a reportSpecifierID and rIDs that the VEN registered")

REPORT_UPDATE = Rule(SPEC_20B, "EiReport service (oadrUpdateReport)",
                     "report data for a report the VTN requested is acknowledged with oadrUpdatedReport, code 200")

POLL = Rule(SPEC_20B, "OadrPoll service",
            "a poll is answered with oadrResponse (nothing waiting) or with a message a VTN sends a VEN "
            "(oadrDistributeEvent, report requests, re-registration or cancellation of the registration)")

VEN_ID = Rule(SPEC_20B, "payloads (ei:venID)",
              "a reply that names a venID names the VEN it answers, the venID the VTN assigned it")
