"""The `huitouke` console script: a thin wrapper over Django's management commands.

`huitouke export-customers …` runs the `export_customers` command; everything else is passed on unchanged.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    """Run one management command named by the first argument (dashes become underscores)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huitouke.settings")
    args = list(sys.argv[1:] if argv is None else argv)
    if args and not args[0].startswith("-"):
        args[0] = args[0].replace("-", "_")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["huitouke", *args])


if __name__ == "__main__":
    main()
