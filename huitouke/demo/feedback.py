"""The demo shop's reviews and return visits, added after its history: buyers' ratings of a share of the
Taobao shop's completed orders (mostly good, some neutral or bad, a few anonymous, some with follow-ups and shop
scores), the shop's explanations of most negative ones, the credit level they give, and two suggested visit plans
switched on with one run and a few visits already done.

Everything goes through the owning apps' services: reviews_import_rows (so a recent negative review opens its
case and ticket), review_case_open, review_explain, credit_recompute; visit_plans_suggested_install,
visit_plan_update, visits_plan_run, visit_outcome_record. The draws come from the demo's seed, so the same seed,
size and day give the same reviews and visits; the work is one pass over the completed orders.
"""

from __future__ import annotations

import random
import tempfile
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User

from huitouke.core.roles import AGENT
from huitouke.orders.models import Order, OrderLine, Product, Shop
from huitouke.reviews.crediting import CreditTotals, credit_recompute
from huitouke.reviews.importer import ReviewRow
from huitouke.reviews.models import Result, Review, ReviewCase
from huitouke.reviews.services import CASE_WINDOW_DAYS, review_case_open, review_explain, reviews_import_rows
from huitouke.visits import schedule
from huitouke.visits.models import VisitPlan, VisitTask
from huitouke.visits.services import (
    visit_outcome_record,
    visit_plan_update,
    visit_plans_suggested_install,
    visits_plan_run,
)

#: Share of completed orders whose buyer rated them.
REVIEW_SHARE = 0.25
#: Of the ratings: good, neutral, bad (the rest of good).
NEUTRAL_SHARE = 0.05
BAD_SHARE = 0.03
ANONYMOUS_SHARE = 0.08
#: good ratings the platform gave by default when the buyer did not rate in time
DEFAULT_GOOD_SHARE = 0.10
FOLLOW_UP_SHARE = 0.08
DSR_SHARE = 0.6
#: negative reviews the shop explained (the others are still being handled); good ones it thanked
EXPLAINED_SHARE = 0.6
THANKED_SHARE = 0.05
#: days of visit runs up to today; the earlier days' visits are done except every LEFT_EVERY-th
VISIT_DAYS = 7
LEFT_EVERY = 4

GOOD_TEXTS = (
    "茶叶很新鲜，泡出来香气足，回甘明显，会回购。",
    "包装很用心，送人很有面子，物流也快。",
    "第二次买了，味道一如既往地好，家里人都爱喝。",
    "坚果颗粒饱满，不哈喇，孩子当零食吃正好。",
    "客服回复很耐心，帮我挑了适合老人喝的茶。",
    "发货快，两天就到了，赠品小样也很惊喜。",
    "性价比高，比超市买的香，办公室同事都在问链接。",
    "红茶汤色透亮，口感醇厚，冬天喝很暖胃。",
    "",
    "",
)
NEUTRAL_TEXTS = (
    "味道还行，就是比上次买的淡了一点。",
    "快递慢了三天，茶叶本身没问题。",
    "包装有点压扁了，里面的东西倒是完好。",
    "分量比想象中少，价格略贵。",
)
BAD_TEXTS = (
    "收到时袋子漏气，果干已经受潮发软，很失望。",
    "喝起来有股陈味，感觉不是新茶，申请退换一直没人理。",
    "少发了一盒，联系客服拖了好几天才回复。",
)
FOLLOW_UPS = (
    "喝了一段时间，越喝越喜欢，已经推荐给朋友。",
    "追评：冷泡也很好喝，夏天必备。",
    "用完了又来下单，品质稳定。",
    "后来客服主动联系补发了，态度不错，给个赞。",
)
EXPLANATIONS = (
    "非常抱歉给您带来不好的体验，客服已联系您安排补发，请留意物流信息。",
    "感谢反馈！茶叶批次我们已复查，已为您办理退换，欢迎随时找我们。",
    "抱歉让您久等了，问题已经登记并加急处理，后续会主动回访您。",
)
THANKS = "感谢您的喜欢和支持，期待再次为您服务！"
VISIT_OUTCOMES = ("reached", "reached", "no_answer", "reached", "wrong_number")
VISIT_FEEDBACK = (
    "很满意，下次还会买",
    "希望多出小包装",
    "物流可以再快一点",
    "家里老人很喜欢这款茶",
)


def _review_rows(shop: Shop, rng: random.Random, now: datetime) -> list[ReviewRow]:
    """Ratings of a share of the shop's completed orders, one draw sequence per order in id order."""
    firsts = dict(
        OrderLine.objects.filter(order__shop=shop, order__status=Order.Status.COMPLETED, line_no=1).values_list(
            "order_id", "product_id"
        )
    )
    products = {
        pk: (ext, name) for pk, ext, name in Product.objects.filter(shop=shop).values_list("pk", "external_id", "title")
    }
    rows: list[ReviewRow] = []
    orders = (
        Order.objects.filter(shop=shop, status=Order.Status.COMPLETED)
        .order_by("pk")
        .values("pk", "order_no", "confirmed_at", "delivered_at")
    )
    for order in orders.iterator(chunk_size=5000):
        draws = [rng.random() for _ in range(9)]
        hours = rng.randint(2, 96)
        base = order["confirmed_at"] or order["delivered_at"]
        if draws[0] >= REVIEW_SHARE or base is None:
            continue
        result = Result.GOOD
        if draws[1] < BAD_SHARE:
            result = Result.BAD
        elif draws[1] < BAD_SHARE + NEUTRAL_SHARE:
            result = Result.NEUTRAL
        is_default = result == Result.GOOD and draws[2] < DEFAULT_GOOD_SHARE
        created = base + (timedelta(days=15) if is_default else timedelta(hours=hours))
        if created >= now:
            continue
        texts = {Result.GOOD: GOOD_TEXTS, Result.NEUTRAL: NEUTRAL_TEXTS, Result.BAD: BAD_TEXTS}[result]
        content = "" if is_default else texts[int(draws[3] * len(texts))]
        follow_at = created + timedelta(days=7 + int(draws[4] * 30))
        follow = not is_default and draws[5] < FOLLOW_UP_SHARE and follow_at < now
        dsr: list[int | None] = [None, None, None]
        if not is_default and draws[6] < DSR_SHARE:
            # one dimension may be a point lower than the rating suggests
            top = {Result.GOOD: 5, Result.NEUTRAL: 4, Result.BAD: 2}[result]
            low = int(draws[6] * 100) % 4  # 3: none lower
            dsr = [max(1, top - 1) if k == low else top for k in range(3)]
        # an older negative review arrives with the explanation the shop wrote back then; a few good ones are
        # thanked (the recent negative ones are explained through their case, below)
        reply, reply_at = "", None
        if result != Result.GOOD and created < now - timedelta(days=CASE_WINDOW_DAYS) and draws[8] < EXPLAINED_SHARE:
            reply, reply_at = EXPLANATIONS[int(draws[8] * 100) % len(EXPLANATIONS)], created + timedelta(hours=20)
        elif result == Result.GOOD and content and draws[8] < THANKED_SHARE:
            reply, reply_at = THANKS, created + timedelta(hours=6)
        ext, title = products.get(firsts.get(order["pk"], 0), ("", ""))
        rows.append(
            ReviewRow(
                row_no=len(rows) + 1,
                tid=order["order_no"],
                oid="",
                role="buyer",
                result=result,
                created_at=created,
                item_title=title,
                num_iid=ext,
                content=content,
                reply=reply,
                reply_at=reply_at,
                anonymous=draws[7] < ANONYMOUS_SHARE,
                is_default=is_default,
                follow_up=FOLLOW_UPS[int(draws[4] * len(FOLLOW_UPS))] if follow else "",
                follow_up_at=follow_at if follow else None,
                pictures=int(draws[3] * 4) if result == Result.GOOD and content else 0,
                dsr_description=dsr[0],
                dsr_service=dsr[1],
                dsr_logistics=dsr[2],
            )
        )
    return rows


def demo_reviews_build(*, shop: Shop, now: datetime, seed: int) -> tuple[int, int, CreditTotals]:
    """Import the demo's reviews into `shop`, open the case of every recent negative one (as the import does for
    reviews that arrive the day they are written), explain most of them, and store the credit as of `now`.
    Returns (reviews, cases, credit)."""
    rng = random.Random(f"reviews-{seed}")
    rows = _review_rows(shop, rng, now)
    with tempfile.TemporaryDirectory() as tmp:
        reviews_import_rows(shop=shop, rows=rows, report_path=Path(tmp) / "errors.csv", layout="demo")
    recent = Review.objects.filter(shop=shop, created_at__gte=now - timedelta(days=CASE_WINDOW_DAYS))
    negative = [r for r in recent.order_by("created_at", "pk") if r.is_negative]
    for i, review in enumerate(negative):
        # a review imported today had its case opened now by the import; one from the demo's past, an hour
        # after it was written. It is explained the next day, if that day has come since the case opened.
        case = review_case_open(review=review, at=min(review.created_at + timedelta(hours=1), now))
        explain_at = max(case.opened_at + timedelta(minutes=10), review.created_at + timedelta(hours=20))
        if rng.random() < EXPLAINED_SHARE and explain_at <= now:
            review_explain(review=review, text=EXPLANATIONS[i % len(EXPLANATIONS)], at=explain_at)
    credit = credit_recompute(shop=shop, at=now)
    cases = ReviewCase.objects.filter(review__shop=shop).count()
    return Review.objects.filter(shop=shop).count(), cases, credit


def demo_visits_build(*, shop: Shop, now: datetime) -> tuple[int, int]:
    """Add the suggested visit plans, switch on the visits after delivery (taken in turns by the agents) and the
    best members' visits (shared pool), run them each morning of the last VISIT_DAYS days up to `now`, and
    record the outcome of the earlier days' visits except every LEFT_EVERY-th (left overdue); today's stay due.
    Returns (tasks created, visits done)."""
    agents = list(User.objects.filter(groups__name=AGENT, is_active=True).order_by("pk"))
    plans = {p.trigger: p for p in visit_plans_suggested_install(shop=shop)}
    if schedule.AFTER_DELIVERY in plans and agents:
        visit_plan_update(
            plan=plans[schedule.AFTER_DELIVERY],
            enabled=True,
            assignment=VisitPlan.Assignment.ROUND_ROBIN,
            agent_ids=[a.pk for a in agents],
        )
    if schedule.EVERY_N_DAYS in plans:
        visit_plan_update(plan=plans[schedule.EVERY_N_DAYS], enabled=True)
    tz = ZoneInfo(shop.timezone)
    today = now.astimezone(tz).date()
    created = 0
    for back in range(VISIT_DAYS - 1, -1, -1):
        morning = datetime.combine(today - timedelta(days=back), time(9, 30), tzinfo=tz)
        created += sum(r.created for r in visits_plan_run(at=min(morning, now)))
    earlier = VisitTask.objects.filter(
        plan__shop=shop,
        status=VisitTask.Status.DUE,
        held_out=False,
        due_at__lt=datetime.combine(today, time(0), tzinfo=tz),
    ).order_by("due_at", "pk")
    done = 0
    for i, task in enumerate(earlier):
        if i % LEFT_EVERY == LEFT_EVERY - 1:
            continue
        actor = task.assignee or (agents[i % len(agents)] if agents else None)
        outcome = VISIT_OUTCOMES[i % len(VISIT_OUTCOMES)]
        reached = outcome == VisitTask.Outcome.REACHED
        visit_outcome_record(
            task=task,
            actor=actor,
            outcome=outcome,
            satisfaction=(5 - i % 2) if reached else None,
            feedback=VISIT_FEEDBACK[i % len(VISIT_FEEDBACK)] if reached else "",
            at=task.due_at + timedelta(hours=1 + i % 5),
        )
        done += 1
    return created, done
