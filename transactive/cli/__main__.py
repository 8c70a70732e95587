from transactive.cli import main

raise SystemExit(main())
