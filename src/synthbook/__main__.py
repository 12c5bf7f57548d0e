"""``python -m synthbook``: the command line (see :mod:`synthbook.tools.cli`)."""

from synthbook.tools.cli import main

raise SystemExit(main())
