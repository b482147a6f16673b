"""``python -m monitorx`` is the ``monitorx`` command."""

from monitorx.cli.main import main

raise SystemExit(main())
