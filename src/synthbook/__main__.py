"""Allow ``python -m synthbook``."""

from synthbook.cli import main

raise SystemExit(main())
