"""The conformance kit: probe a live OpenADR 2.0b or CTS endpoint and report, case by case, what it does
that its standard does not allow.

* :mod:`.model` — cases, results, evidence and the report (``--json`` is :meth:`Report.as_json`);
* :mod:`.suite` — a suite of cases for one standard and role, the runner that records each case's evidence;
* :mod:`.rules` and :mod:`.checks` — the rules cited by the cases and the checks every exchange goes through
  (well-formed, schema-valid against the shipped XSDs);
* :mod:`.oadr_vtn` (``probe --role vtn``: the kit plays a VEN), :mod:`.oadr_ven` (``listen --role ven``: the
  kit plays a VTN), :mod:`.cts_vtn` (``probe --standard cts``: the kit plays a CTS party);
* :mod:`.html` — the self-contained HTML report; :mod:`.catalogue` — every suite, for ``conformance cases``.

The command line is :mod:`transactive.cli.conformance`.
"""
