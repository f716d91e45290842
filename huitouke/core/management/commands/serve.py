"""`huitouke serve`: the production web server (gunicorn) for this installation, static files through WhiteNoise."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from huitouke.core.serving import ServeOptions, parse_bind, serve


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if not 1 <= number <= 64:
        raise argparse.ArgumentTypeError(f"must be between 1 and 64, got {number}")
    return number


class Command(BaseCommand):
    help = (
        "Serve Huitouke with gunicorn (the production server): several worker processes, timeouts, graceful "
        "restart on SIGHUP, an access log on stdout. Static files come through WhiteNoise."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--bind", default="127.0.0.1:8000", help="address:port to listen on (default 127.0.0.1:8000)"
        )
        parser.add_argument(
            "--workers", type=_positive, default=None, help="web processes (default: 2 per CPU core + 1, at most 8)"
        )
        parser.add_argument(
            "--timeout", type=_positive, default=None, help="seconds a request may take before its process is replaced"
        )
        parser.add_argument(
            "--with-worker",
            action="store_true",
            help="also run one background worker (`huitouke worker`) as a child process (the demo; one machine)",
        )
        parser.add_argument("--check", action="store_true", help="print the effective configuration and exit")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            host, port = parse_bind(options["bind"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        opts = ServeOptions.build(
            host=host,
            port=port,
            workers=options["workers"],
            timeout=options["timeout"],
            with_worker=options["with_worker"],
        )
        if options["check"]:
            for key, value in sorted(opts.gunicorn_config().items()):
                self.stdout.write(f"{key} = {value}")
            return
        self.stdout.write(f"Serving on http://{opts.bind} with {opts.workers} web processes (Ctrl-C stops).")
        serve(opts)
