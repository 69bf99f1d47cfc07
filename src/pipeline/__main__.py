"""`python -m pipeline ...`: the offline validate / plan command (no Dagger engine needed)."""

from pipeline.cli import main

raise SystemExit(main())
