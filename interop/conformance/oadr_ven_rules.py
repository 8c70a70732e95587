"""The requirements the ``listen --role ven`` cases check (the kit plays a VTN), in our own words.

Conformance rules are cited by number only where the number was checked (rule 21); everything else is cited
by the service or the section of the 2.0b Profile Specification that states it, or by the schema.
"""

from __future__ import annotations

from transactive.interop.conformance.model import Rule
from transactive.interop.conformance.rules import SPEC_20B

__all__ = [
    "CANCEL_REGISTRATION",
    "EVENT_ANSWER",
    "EVENT_ANSWER_IDS",
    "EXCHANGE_PATTERN",
    "MODIFICATION",
    "OPTS",
    "POLL_FREQUENCY",
    "PUSH",
    "REGISTER_PARTY",
    "REGISTRATION_FIELDS",
    "REPLAY_NOT_ACTED_ON",
    "REPORT_CANCEL",
    "REPORT_METADATA",
    "REPORT_REQUEST",
    "REPORT_UPDATE",
    "REQUEST_ID_ECHO",
    "REREGISTRATION",
    "RESPONSE_NEVER",
    "SIGNED_REQUESTS",
    "UNSIGNED_NOT_ACTED_ON",
    "VEN_ID_USED",
]

EXCHANGE_PATTERN = Rule(SPEC_20B, "§9.1.2 and each service's exchanges",
                        "a VEN posts each request to the endpoint of its service and sends only the requests and "
                        "answers the exchange allows at that point")
REQUEST_ID_ECHO = Rule("OASIS Energy Interoperation 1.0", "eiResponse (§10.1)",
                       "an answer's eiResponse carries the requestID of the request it answers")
REGISTER_PARTY = Rule(SPEC_20B, "EiRegisterParty service",
                      "a VEN registers with oadrCreatePartyRegistration (after an optional oadrQueryRegistration) "
                      "before it uses any other service")
REGISTRATION_FIELDS = Rule(SPEC_20B, "EiRegisterParty service, oadrCreatePartyRegistration",
                           "the registration names profile 2.0b, transport simpleHttp and, for simpleHttp, whether "
                           "the VEN pulls (a push VEN gives its transportAddress); oadrXmlSignature is true when the "
                           "VEN signs (it says whether it supports signatures); a first registration carries no "
                           "venID and no registrationID (the VTN assigns them)")
VEN_ID_USED = Rule(SPEC_20B, "EiRegisterParty service, venID",
                   "after registering, a VEN puts the venID the VTN assigned in every payload that carries a venID "
                   "(the VTN checks it: conformance rule 21)")
REPORT_METADATA = Rule(SPEC_20B, "EiReport service, oadrRegisterReport",
                       "a VEN describes its reports in METADATA reports, each with at least one description "
                       "(an rID, a reportType, a readingType)")
REPORT_REQUEST = Rule(SPEC_20B, "EiReport service, oadrCreatedReport",
                      "a VEN acknowledges the reports a VTN requests with oadrCreatedReport listing them as pending")
REPORT_CANCEL = Rule(SPEC_20B, "EiReport service, oadrCancelReport",
                     "a VEN answers oadrCancelReport with oadrCanceledReport (success, the requestID) and no longer "
                     "lists the cancelled report as pending")
REPORT_UPDATE = Rule(SPEC_20B, "EiReport service, oadrUpdateReport",
                     "report data names the reportRequestID the VTN gave and only the rIDs it requested")
EVENT_ANSWER = Rule(SPEC_20B, "EiEvent service, oadrCreatedEvent",
                    "a VEN answers each event whose responseRequired is always with an eventResponse naming the "
                    "eventID, its modificationNumber and an optType, with a success code")
EVENT_ANSWER_IDS = Rule(SPEC_20B, "EiEvent service, oadrCreatedEvent",
                        "each eventResponse carries the requestID of the distribution it answers; the eiResponse's "
                        "requestID is left empty when eventResponses are present (the VTN reads them)")
MODIFICATION = Rule(SPEC_20B, "EiEvent service, modificationNumber",
                    "a modified event carries a higher modificationNumber; the VEN's answer names the version it "
                    "answers")
RESPONSE_NEVER = Rule(SPEC_20B, "EiEvent service, oadrResponseRequired",
                      "an event whose oadrResponseRequired is never is not answered with oadrCreatedEvent")
REREGISTRATION = Rule(SPEC_20B, "EiRegisterParty service, oadrRequestReregistration",
                      "a VEN asked to re-register acknowledges with oadrResponse and registers again with its "
                      "registrationID and venID")
CANCEL_REGISTRATION = Rule(SPEC_20B, "EiRegisterParty service, oadrCancelPartyRegistration",
                           "a VEN whose registration the VTN cancels answers oadrCanceledPartyRegistration with a "
                           "success code and the registrationID cancelled")
POLL_FREQUENCY = Rule(SPEC_20B, "§9.1.8",
                      "a pull VEN polls no more often than the oadrRequestedOadrPollFreq of its registration (a poll "
                      "right after one that brought a message is allowed: the VTN may have more queued)")
SIGNED_REQUESTS = Rule(SPEC_20B, "§10",
                       "when XML signatures are in use every payload a VEN sends is signed over oadrSignedObject, "
                       "verifies, and carries a fresh timestamp and nonce")
UNSIGNED_NOT_ACTED_ON = Rule(SPEC_20B, "§10",
                             "when XML signatures are in use a VEN does not act on a payload whose signature does "
                             "not verify")
REPLAY_NOT_ACTED_ON = Rule(SPEC_20B, "§10",
                           "when XML signatures are in use a VEN does not act on a signed payload it has already "
                           "received (the same nonce: a replay)")
OPTS = Rule(SPEC_20B, "EiOpt service",
            "a VEN's oadrCreateOpt names either a version of an event it was sent or an availability schedule, and "
            "its oadrCancelOpt names an opt it created")
PUSH = Rule(SPEC_20B, "§9.1.2 (push)",
            "a push VEN (oadrHttpPullModel false) takes the VTN's requests at {transportAddress}/OpenADR2/Simple/2.0b/"
            "{service} and answers each with its reply")
