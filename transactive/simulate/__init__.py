"""Simulations on recorded or public data: the reproduction of the IOTA double-auction paper (issue 16).

:mod:`transactive.simulate.week` holds one week of 15-minute rounds for three microgrids of five PV
prosumers (the :class:`~transactive.simulate.week.Week` container and its CSV format);
:mod:`transactive.simulate.build_data` builds the shipped week (``paper_iota_week.csv``) from SimBench's
household load profiles and pvlib's clear-sky model (the ``paper`` extra). Nothing heavy is imported here.
"""
