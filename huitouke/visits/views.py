"""Pages of return visits: the agent's queue for today, a task with the customer's context, the audited phone
reveal, the outcome form, the plans list and the "what visits teach" report. Thin: parse -> one
service/selector -> render."""

from __future__ import annotations

from datetime import timedelta
from string import Template
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from huitouke.care.triggers import clock
from huitouke.core.api import masker_for
from huitouke.core.errors import ApplicationError
from huitouke.core.services import audit_unmasked
from huitouke.customers import selectors as customer_selectors
from huitouke.orders.models import Shop
from huitouke.orders.selectors import order_list_for_customer
from huitouke.service import selectors as service_selectors
from huitouke.visits import selectors, services
from huitouke.visits.forms import PlanForm
from huitouke.visits.models import VisitPlan, VisitTask
from huitouke.visits.report_figures import visit_report_figures, visit_report_store

WORK, PLANS = "visits.work_visittask", "visits.view_visitplan"
ADD_PLAN, CHANGE_PLAN = "visits.add_visitplan", "visits.change_visitplan"
QUEUE_LIMIT = 50


def _today() -> Any:
    return clock.local_today(timezone.now(), clock.DEFAULT_TZ)


@permission_required(WORK, raise_exception=True)
def queue(request: HttpRequest) -> HttpResponse:
    """The signed-in agent's visits for today: due and overdue (oldest first), with today's counts."""
    today = _today()
    start, _end = clock.day_bounds(today, clock.DEFAULT_TZ)
    tasks = selectors.agent_queue(user_id=int(request.user.pk or 0), today=today, limit=QUEUE_LIMIT)
    masker = masker_for(request)
    # One reverse for the page, not one per row (50 reverses were a tenth of the page's time).
    base = reverse("visits:task", args=[0]).removesuffix("0/")
    phones = {t.pk: str(getattr(t, "customer_phone", "")) for t in tasks}  # a column of agent_queue's statement
    rows = [
        {
            "task": t,
            "phone": masker.phone(phones[t.pk]),
            "overdue": t.due_at < start,
            "url": f"{base}{t.pk}/",
            "due": timezone.localtime(t.due_at).strftime("%m-%d %H:%M"),
        }
        for t in tasks
    ]
    audit_unmasked(
        actor=request.user,
        unmasked=masker.unmasked,
        target_type="customer",
        ids=[t.customer_id for t in tasks if phones[t.pk]],
        page="visits:queue",
    )
    counts = selectors.queue_counts(user_id=int(request.user.pk or 0), today=today)
    context = {"rows": rows, "rows_html": queue_rows_html(rows), "counts": counts, "today": today}
    return render(request, "visits/queue.html", context)


def queue_rows_html(rows: list[dict[str, Any]]) -> SafeString:
    """The queue's table rows, made here in one pass: as a template loop they were about 450 variable lookups
    (each escaped and localised) per page, most of the page's own time. Every value is escaped."""
    start_label, overdue_label = _("Start the visit"), _("Overdue")
    return format_html_join(
        "\n",
        '<tr id="task-{}"{}><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>'
        '<td><a class="button primary" href="{}">{}</a></td></tr>',
        (
            (
                row["task"].pk,
                mark_safe(' class="overdue"') if row["overdue"] else "",
                row["due"],
                format_html(' <span class="badge warn">{}</span>', overdue_label) if row["overdue"] else "",
                getattr(row["task"], "customer_name", ""),
                row["phone"],
                getattr(row["task"], "plan_name", ""),
                row["task"].attempts,
                row["url"],
                start_label,
            )
            for row in rows
        ),
    )


def fill_script(script: str, values: dict[str, str]) -> str:
    """The plan's script with the customer's variables ($name, $level, $shop, $last_order) filled in; unknown
    variables stay as written."""
    return Template(script).safe_substitute(values)


@permission_required(WORK, raise_exception=True)
def task(request: HttpRequest, pk: int) -> HttpResponse:
    """One visit on one screen: the customer's context (level, last orders, open tickets, past visits, notes),
    the masked phone with its reveal button, the filled script and the outcome form (POST records it)."""
    t = selectors.task_get(task_id=pk)
    error: ApplicationError | None = None
    if request.method == "POST":
        try:
            services.visit_outcome_record(
                task=t,
                actor=request.user,
                outcome=request.POST.get("outcome", ""),
                satisfaction=int(request.POST["satisfaction"]) if request.POST.get("satisfaction") else None,
                feedback=request.POST.get("feedback", ""),
                answers=_answers(t, request.POST),
                new_products_opt_in=True if request.POST.get("new_products_opt_in") else None,
                follow_up=request.POST.get("follow_up_date") or request.POST.get("follow_up") or None,
            )
        except (ApplicationError, ValueError) as exc:
            error = exc if isinstance(exc, ApplicationError) else ApplicationError(str(exc), field="satisfaction")
        else:
            messages.success(request, _("The visit was recorded."))
            return redirect("visits:queue")
    customer = t.customer
    level = service_selectors.customer_level_name(customer=customer, shop=t.plan.shop)
    orders = list(order_list_for_customer(customer=customer)[:5])
    values = {
        "name": customer.name,
        "level": level or _("member"),
        "shop": t.plan.shop.name,
        "last_order": orders[0].order_no if orders else "",
    }
    masker = masker_for(request)
    handles = []
    for identity in customer.identities.all()[:5]:
        shown = masker.identifier(identity.handle)
        handles.append({"platform": identity.get_platform_display(), "handle": shown, "copy": shown == identity.handle})
    audit_unmasked(
        actor=request.user,
        unmasked=masker.unmasked,
        target_type="customer",
        ids=[customer.pk] if customer.phone or handles else [],
        page="visits:task",
    )
    context = {
        "t": t,
        "customer": customer,
        "phone": masker.phone(customer.phone),
        "handles": handles,
        "level": level,
        "orders": orders,
        "tickets": [
            x
            for x in service_selectors.tickets_for_customer(customer=customer, limit=10)
            if x.status in ("new", "open", "waiting_customer", "waiting_third_party")
        ],
        "past": [v for v in selectors.visits_for_customer(customer_id=customer.pk, limit=10) if v.pk != t.pk],
        "notes": list(customer_selectors.note_list_for_customer(customer=customer)[:5]),
        "script": fill_script(t.plan.script, values),
        "outcomes": VisitTask.Outcome.choices,
        "error": error,
        "tomorrow": _today() + timedelta(days=1),
    }
    return render(request, "visits/task.html", context)


def _answers(t: VisitTask, post: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for q in t.plan.questions or []:
        raw = post.get(f"answer_{q['key']}", "").strip()
        if raw:
            out[q["key"]] = int(raw) if q["kind"] == "rating" and raw.isascii() and raw.isdigit() else raw
    return out


@require_POST
@permission_required(WORK, raise_exception=True)
def reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """Show the full number to the visiting agent after they say why; one audit entry per click."""
    t = selectors.task_get(task_id=pk)
    try:
        number = services.visit_phone_reveal(task=t, actor=request.user, reason=request.POST.get("reason", ""))
    except ApplicationError as exc:
        return HttpResponse(f'<span class="error" id="phone">{exc.message}</span>', status=400)
    return render(request, "visits/_phone.html", {"number": number})


@permission_required(PLANS, raise_exception=True)
def plans(request: HttpRequest) -> HttpResponse:
    """The shops' visit plans; managers open one to change it, add a new one, or add the suggested ones."""
    shops = list(Shop.objects.order_by("name")[:50])
    return render(request, "visits/plans.html", {"plans": selectors.plan_list()[:200], "shops": shops})


@require_POST
@permission_required(ADD_PLAN, raise_exception=True)
def plans_suggested(request: HttpRequest) -> HttpResponse:
    """Add the suggested plans (switched off) to the chosen shop."""
    raw = request.POST.get("shop", "")[:20]
    shop = Shop.objects.filter(pk=int(raw)).first() if raw.isascii() and raw.isdigit() and int(raw) < 2**63 else None
    if shop is None:
        messages.error(request, _("Choose the shop."))
        return redirect("visits:plans")
    added = services.visit_plans_suggested_install(shop=shop, actor=request.user)
    if added:
        messages.success(
            request,
            _("Added %(n)d suggested plans, switched off: open each one, adjust it and switch it on.")
            % {"n": len(added)},
        )
    else:
        messages.info(request, _("The shop already has every suggested plan."))
    return redirect("visits:plans")


def _plan_form_page(request: HttpRequest, plan: VisitPlan | None) -> HttpResponse:
    initial = PlanForm.initial_of(plan) if plan else None
    form = PlanForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        values = form.service_values()
        agent_ids = [a.pk for a in form.cleaned_data["agents"]]
        try:
            if plan is None:
                plan = services.visit_plan_create(
                    shop=form.cleaned_data["shop"], actor=request.user, agent_ids=agent_ids, **values
                )
                messages.success(request, _("The plan was created."))
            else:
                services.visit_plan_update(plan=plan, actor=request.user, agent_ids=agent_ids, **values)
                messages.success(request, _("The plan was saved."))
        except ApplicationError as exc:
            name = PlanForm.FIELD_OF.get(exc.field or "", exc.field or "")
            name = name.split("[")[0].split(".")[0]
            form.add_error(name if name in form.fields else None, exc.message)
        else:
            return redirect("visits:plans")
    status = 400 if request.method == "POST" else 200
    return render(request, "visits/plan_form.html", {"form": form, "plan": plan}, status=status)


@permission_required(ADD_PLAN, raise_exception=True)
def plan_create(request: HttpRequest) -> HttpResponse:
    """A new visit plan: whom, when, how, who, with the service's checks shown on the form's fields."""
    return _plan_form_page(request, None)


@permission_required(CHANGE_PLAN, raise_exception=True)
def plan_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a plan; tasks already created keep their assignee and due time."""
    return _plan_form_page(request, selectors.plan_get(plan_id=pk))


def _report_choice(params: Any, plans: list[VisitPlan]) -> tuple[int, int | None]:
    """The period (1–730 days, 90 when missing or not a number) and the plan (None: all; an unknown one: all)."""
    try:
        days = min(max(int(params.get("days", "90")), 1), 730)
    except ValueError:
        days = 90
    wanted = params.get("plan", "")
    plan_id = next((p.pk for p in plans if str(p.pk) == wanted), None)
    return days, plan_id


@permission_required(PLANS, raise_exception=True)
def report(request: HttpRequest) -> HttpResponse:
    """What visits teach over the last 90 days (or ?days=N, 1–730), of every plan or of ?plan=<id>; a report
    stored today (visits.report_figures), says when it was computed."""
    plans = list(selectors.plan_list()[:200])
    days, plan_id = _report_choice(request.GET, plans)
    stored = visit_report_figures(days=days, plan_id=plan_id)
    context = {
        "r": stored.value.report,
        "days": days,
        "plans": plans,
        "plan_id": plan_id,
        "day_choices": (30, 90, 180, 365),
        "computed_at": stored.computed_at,
        "seconds": stored.seconds,
    }
    return render(request, "visits/report.html", context)


@require_POST
@permission_required(PLANS, raise_exception=True)
def report_recompute(request: HttpRequest) -> HttpResponse:
    """Compute the report shown (?days, ?plan as on the page) again now."""
    days, plan_id = _report_choice(request.POST, list(selectors.plan_list()[:200]))
    visit_report_store(days=days, plan_id=plan_id)
    query = f"?days={days}" + (f"&plan={plan_id}" if plan_id else "")
    return redirect(reverse("visits:report") + query)
