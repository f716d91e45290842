"""The pages that show what became of messages, on the rules and campaigns that have the most of them (the
crawl of benchmarks/pages.py opens the first rule, which may have none).

    DATABASE_URL=postgres://…/h22m .venv/bin/python benchmarks/results_pages.py [--samples 5] [--role owner]

Times, as pages.py does (cold: new connection and empty cache; warm; bare SQL: the page's reads re-run), the care
rule list, the detail page of the three care rules with the most messages, the campaign list, the detail page
of the campaign with the most messages and the send records filtered to it (with their summary), and says how
many statements each ran and how many read messaging_message.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import django_setup_postgres, percentile


def _busiest() -> list[tuple[str, str]]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT a.rule_id, COUNT(*) FROM messaging_message m JOIN care_careactivation a ON a.id = m.source_id "
            "WHERE m.source_kind = 'care' GROUP BY a.rule_id ORDER BY 2 DESC LIMIT 3"
        )
        rules = cur.fetchall()
        cur.execute(
            "SELECT source_type_id, source_id, COUNT(*) FROM messaging_message WHERE source_kind = 'campaign' "
            "GROUP BY source_type_id, source_id ORDER BY 3 DESC LIMIT 1"
        )
        campaigns = cur.fetchall()
    urls = [("care:list", "/care/")]
    urls += [(f"care:detail rule {r} ({n:,} messages)", f"/care/{r}/") for r, n in rules]
    urls += [("campaigns:list", "/campaigns/")]
    urls += [(f"campaigns:detail {c} ({n:,} messages)", f"/campaigns/{c}/") for _t, c, n in campaigns]
    # the send records of one source, with its summary by status
    urls += [
        (f"messaging:list of campaign {c}", f"/messages/?source_kind=campaign&source={t}:{c}") for t, c, _n in campaigns
    ]
    return urls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--role", default="owner")
    args = parser.parse_args()
    django_setup_postgres("results_pages.py", test_client=True)

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from benchmarks.pages import _time_page
    from huitouke.demo.services import DEMO_LOGINS

    login = next(x for x in DEMO_LOGINS if x.role == args.role)
    client = Client(raise_request_exception=False)
    client.force_login(get_user_model().objects.get(username=login.username))
    print(
        f"{'page':<44}{'st':>4}{'q':>4}{'msg q':>6}{'cold p50':>10}{'p95':>8}{'warm p50':>10}{'p95':>8}{'bare p50':>10}"
    )
    for label, url in _busiest():
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        on_messages = sum('"messaging_message"' in q["sql"] for q in captured.captured_queries)
        status, queries, cold, warm, bare = _time_page(client, url, args.samples)
        print(
            f"{label:<44}{status:>4}{queries:>4}{on_messages:>6}{percentile(cold, 50):>10.1f}"
            f"{percentile(cold, 95):>8.1f}{percentile(warm, 50):>10.1f}{percentile(warm, 95):>8.1f}"
            f"{percentile(bare, 50):>10.1f}"
        )


if __name__ == "__main__":
    main()
