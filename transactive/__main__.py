"""``python -m transactive``: the ``transactive`` command line."""

from transactive.cli import main

raise SystemExit(main())
