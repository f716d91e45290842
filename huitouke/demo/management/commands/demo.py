"""`huitouke demo`: build the demo tea-and-snacks shop (once) and serve it."""

from __future__ import annotations

import signal
import sys
import time
from types import FrameType
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from huitouke.core.errors import ApplicationError
from huitouke.demo.services import DEMO_LOGINS, demo_build, demo_exists, demo_users_ensure

#: How long a stopping demo waits for the task its worker is running.
SHUTDOWN_TIMEOUT_S = 3


class Command(BaseCommand):
    """Build a deterministic demo business (Taobao + Shopify, N customers, 24 months of orders, levels, logins),
    print the logins and serve it at http://127.0.0.1:8000. An existing demo is reused unless --reset; a database
    with real shops is refused."""

    help = "Build the demo shop (unless it exists) and serve it on http://127.0.0.1:8000"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=20_000, help="number of customers (default 20000)")
        parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
        parser.add_argument("--reset", action="store_true", help="delete the demo data and build it again")
        parser.add_argument("--no-serve", action="store_true", help="build only, do not start the web server")
        parser.add_argument("--addr", default="127.0.0.1:8000", help="address to serve on (default 127.0.0.1:8000)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["customers"] < 1:
            raise CommandError("--customers must be at least 1")
        try:
            if demo_exists() and not options["reset"]:
                self.stdout.write("The demo shop exists already (use --reset to rebuild it).")
                demo_users_ensure()
            else:
                self._build(options)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self._print_logins(options["addr"], options["no_serve"])
        if not options["no_serve"]:
            self._serve(options["addr"])

    def _build(self, options: dict[str, Any]) -> None:
        n = options["customers"]
        self.stdout.write(f"Building the demo shop: {n} customers, seed {options['seed']} …")
        last = [0.0]

        def progress(stage: str, done: int, total: int) -> None:
            now = time.monotonic()
            if stage != "customers" or done == total or now - last[0] >= 2:
                last[0] = now
                sys.stderr.write(f"  {stage} {done}/{total}\n")
                sys.stderr.flush()

        summary = demo_build(customers=n, seed=options["seed"], progress=progress, reset=options["reset"])
        self.stdout.write(
            self.style.SUCCESS(
                f"Built {summary.shops} shops, {summary.products} products, {summary.customers} customers, "
                f"{summary.orders} orders ({summary.lines} lines), {summary.memberships} members, "
                f"{summary.reviews} reviews, {summary.visit_tasks} visit tasks in {summary.seconds:.1f} s."
            )
        )

    def _serve(self, addr: str) -> None:
        """Serve the demo with the background worker in this process too, so that imports uploaded in the demo
        progress without a second terminal (production runs `huitouke worker` separately).

        One Ctrl-C (SIGINT) or one SIGTERM stops both: the worker's consumer would otherwise take both signals
        for itself and leave the server running. The handler turns either signal into KeyboardInterrupt, which
        runserver answers by leaving with code 0; on the way out the worker finishes the task it is running
        (up to SHUTDOWN_TIMEOUT_S; a task still running then ends with the process, and its job is failed by
        the job time limit)."""
        from huey.consumer import Consumer

        from huitouke.core.fleet import QUEUES, queue

        consumers = [
            Consumer(
                queue(name),
                workers=1,
                worker_type="thread",
                periodic=name == "default",
                check_worker_health=False,
                shutdown_timeout=SHUTDOWN_TIMEOUT_S,
                max_delay=1.0,  # an idle thread polls at least every second, so a stop is never kept waiting
            )
            for name in QUEUES
        ]
        for consumer in consumers:
            consumer.start()  # sets the consumer's own signal handlers: replaced right below
        stopping = [False]

        def stop(signum: int, frame: FrameType | None) -> None:
            if stopping[0]:
                return  # a second signal while shutting down changes nothing
            stopping[0] = True
            raise KeyboardInterrupt

        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, stop)
        self.stdout.write("Background worker started (imports run while the server is up).")
        try:
            call_command("runserver", addr, use_reloader=False)
        except KeyboardInterrupt:
            pass  # the signal arrived before runserver was listening
        except SystemExit as exc:
            if exc.code not in (0, None):
                raise
        finally:
            stopping[0] = True
            for consumer in consumers:
                consumer.stop_flag.set()  # all stop taking tasks at once; the joins below then overlap
            for consumer in consumers:
                consumer.stop(graceful=True)
            self.stdout.write("Server and background worker stopped.")

    def _print_logins(self, addr: str, no_serve: bool) -> None:
        self.stdout.write("Logins (user / password):")
        for login in DEMO_LOGINS:
            self.stdout.write(f"  {login.role:<9} {login.username} / {login.password}")
        if not no_serve:
            self.stdout.write(f"Open http://{addr}/ (Ctrl-C stops the server and its worker).")
