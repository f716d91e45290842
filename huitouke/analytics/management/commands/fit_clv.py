"""`huitouke fit-clv --transactions FILE.csv --customer-col C --date-col D [--amount-col A]
[--calibration-end DATE] [--unit day|week] [--json]`: fit BG/NBD (and Gamma-Gamma) to any transaction log."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from huitouke.analytics.clv import FitError
from huitouke.analytics.logs import UNIT_DAYS, LogError, fit_log, parse_day, read_log


class Command(BaseCommand):
    """Fit the CLV models to a CSV transaction log and print the parameters, their standard errors and the
    log-likelihood; with --json one object {"customers", "bgnbd": {...}, "gamma_gamma": {...}} (gamma_gamma only
    with --amount-col). Nothing is written to the database."""

    help = "Fit BG/NBD (and Gamma-Gamma with --amount-col) to a transaction log and print the parameters."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--transactions", required=True, metavar="FILE.csv", help="one purchase per row")
        parser.add_argument("--customer-col", required=True, metavar="C", help="the column naming the customer")
        parser.add_argument("--date-col", required=True, metavar="D", help="the column with the purchase date")
        parser.add_argument("--amount-col", metavar="A", help="the column with the amount (fits Gamma-Gamma too)")
        parser.add_argument(
            "--calibration-end",
            metavar="DATE",
            help="fit on the purchases up to this day (default: the last day in the file)",
        )
        parser.add_argument("--unit", default="day", choices=list(UNIT_DAYS), help="time unit (default: day)")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        end: date | None = None
        if options["calibration_end"]:
            try:
                end = parse_day(options["calibration_end"])
            except ValueError:
                raise CommandError(
                    f"--calibration-end: {options['calibration_end']!r} is not a date (write 1997-09-30)"
                ) from None
        try:
            log = read_log(
                Path(options["transactions"]),
                customer_col=options["customer_col"],
                date_col=options["date_col"],
                amount_col=options["amount_col"],
            )
            fit = fit_log(log, calibration_end=end, unit=options["unit"])
        except LogError as exc:
            raise CommandError(str(exc)) from exc
        except FitError as exc:
            raise CommandError(f"cannot fit: {exc}") from exc
        if options["json"]:
            self.stdout.write(json.dumps(fit.as_json()))
            return
        bg = fit.bgnbd
        self.stdout.write(
            f"{fit.customers} customers ({fit.repeat_customers} with repeat purchases) up to "
            f"{fit.calibration_end.isoformat()}, time in {fit.unit}s"
        )
        self.stdout.write("BG/NBD        estimate   std. error")
        for name in ("r", "alpha", "a", "b"):
            self.stdout.write(f"  {name:<10} {getattr(bg, name):>10.4f} {bg.se[name]:>12.4f}")
        self.stdout.write(f"  log-likelihood {bg.loglik:.2f}")
        gg = fit.gamma_gamma
        if gg is not None:
            self.stdout.write(f"Gamma-Gamma   estimate   std. error   ({gg.customers} repeat customers)")
            for name in ("p", "q", "gamma"):
                self.stdout.write(f"  {name:<10} {getattr(gg, name):>10.4f} {gg.se[name]:>12.4f}")
            self.stdout.write(f"  log-likelihood {gg.loglik:.2f}")
