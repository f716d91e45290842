"""Return visits (客户回访): a plan says whom to visit, when, how and by whom; each visit is one task per
(plan, customer, occasion) that lands in an agent's queue and ends with a recorded outcome."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from huitouke.audiences.models import Segment
from huitouke.core.models import TimeStampedModel
from huitouke.customers.models import Customer
from huitouke.orders.models import Shop
from huitouke.service.models import Ticket
from huitouke.visits import schedule


class VisitPlan(TimeStampedModel):
    """Whom a shop visits (a segment, member levels, or the customers a trigger brings), when, over which
    channel, with which script, how often it tries, and how the tasks are shared among agents."""

    class Trigger(models.TextChoices):
        AFTER_DELIVERY = schedule.AFTER_DELIVERY, _("N days after delivery")
        AFTER_FIRST_ORDER = schedule.AFTER_FIRST_ORDER, _("N days after the first order was confirmed")
        AFTER_EVERY_ORDER = schedule.AFTER_EVERY_ORDER, _("N days after every confirmed order")
        EVERY_N_DAYS = schedule.EVERY_N_DAYS, _("Every N days (members of a level or segment)")
        BEFORE_HOLIDAY = schedule.BEFORE_HOLIDAY, _("N days before a holiday")
        AFTER_TICKET = schedule.AFTER_TICKET, _("N days after a service ticket was resolved")
        ONE_OFF = schedule.ONE_OFF, _("A one-off list of customers")

    class Channel(models.TextChoices):
        PHONE = "phone", _("Phone call")
        QIANNIU = "qianniu", _("Qianniu / Wangwang")
        WECHAT = "wechat", _("WeChat")
        SMS_QUESTIONNAIRE = "sms_questionnaire", _("SMS questionnaire")

    class Assignment(models.TextChoices):
        ROUND_ROBIN = "round_robin", _("Take turns among the chosen agents")
        TICKET_OWNER = "ticket_owner", _("The customer's ticket owner")
        POOL = "pool", _("A shared pool (any agent takes it)")

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="visit_plans")
    name = models.CharField(_("name"), max_length=64)
    trigger = models.CharField(_("when"), max_length=32, choices=Trigger.choices)
    days = models.PositiveIntegerField(_("days"), default=0)
    holidays = models.JSONField(_("holidays"), default=list, blank=True)
    segment = models.ForeignKey(
        Segment, null=True, blank=True, on_delete=models.PROTECT, related_name="visit_plans", verbose_name=_("segment")
    )
    level_ids = models.JSONField(_("member levels"), default=list, blank=True)
    customer_ids = models.JSONField(_("customers (one-off list)"), default=list, blank=True)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, default=Channel.PHONE)
    script = models.TextField(_("script"), blank=True)
    questions = models.JSONField(_("questions"), default=list, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=3)
    retry_hours = models.PositiveSmallIntegerField(_("retry after (hours)"), default=4)
    assignment = models.CharField(
        _("who visits"), max_length=16, choices=Assignment.choices, default=Assignment.ROUND_ROBIN
    )
    agents = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="visit_plans")
    daily_capacity = models.PositiveIntegerField(_("tasks per agent per day"), default=40)
    quiet_start = models.TimeField(_("quiet hours from"), null=True, blank=True)
    quiet_end = models.TimeField(_("quiet hours until"), null=True, blank=True)
    holdout_share = models.DecimalField(_("holdout share"), max_digits=3, decimal_places=2, default=Decimal("0"))
    seed = models.PositiveIntegerField(_("split seed"), default=0)
    rotation = models.PositiveIntegerField(default=0)
    enabled = models.BooleanField(_("enabled"), default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "name"], name="visitplan_shop_name"),
            models.CheckConstraint(
                condition=Q(holdout_share__gte=0) & Q(holdout_share__lte=Decimal("0.5")), name="visitplan_holdout_0_50"
            ),
            models.CheckConstraint(condition=Q(attempts__gte=1) & Q(attempts__lte=10), name="visitplan_attempts_1_10"),
        ]
        permissions = [("work_visittask", "Can work return-visit tasks")]

    def __str__(self) -> str:
        return self.name


class VisitTask(TimeStampedModel):
    """One return visit: exactly one per (plan, customer, occasion). Held-out customers get a row too (status
    cancelled, held_out) so that the plan can compare them with the visited ones."""

    class Status(models.TextChoices):
        DUE = "due", _("Due")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    class Outcome(models.TextChoices):
        REACHED = "reached", _("Reached")
        NO_ANSWER = "no_answer", _("No answer")
        WRONG_NUMBER = "wrong_number", _("Wrong number")
        REFUSED = "refused", _("Refused to talk")
        ASKED_NOT_TO_BE_VISITED = "asked_not_to_be_visited", _("Asked not to be visited again")

    plan = models.ForeignKey(VisitPlan, on_delete=models.CASCADE, related_name="tasks", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="visit_tasks")
    occasion = models.CharField(_("occasion"), max_length=64)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="visit_tasks"
    )
    due_at = models.DateTimeField(_("due"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.DUE)
    attempts = models.PositiveSmallIntegerField(_("attempts made"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=24, choices=Outcome.choices, blank=True)
    satisfaction = models.PositiveSmallIntegerField(_("satisfaction"), null=True, blank=True)
    answers = models.JSONField(_("answers"), default=dict, blank=True)
    feedback = models.TextField(_("feedback"), blank=True)
    new_products_opt_in = models.BooleanField(_("wants new-product notices"), null=True, blank=True)
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    callback_on = models.DateField(_("call back on"), null=True, blank=True)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    held_out = models.BooleanField(_("held out"), default=False)

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "customer", "occasion"], name="visittask_plan_customer_occasion"),
            models.CheckConstraint(
                condition=Q(satisfaction__isnull=True) | (Q(satisfaction__gte=1) & Q(satisfaction__lte=5)),
                name="visittask_satisfaction_1_5",
            ),
        ]
        indexes = [
            models.Index(fields=["assignee", "status", "due_at"], name="visittask_queue_idx"),
            models.Index(fields=["plan", "status", "due_at"], name="visittask_plan_status_idx"),
            models.Index(fields=["assignee", "done_at"], name="visittask_done_idx", condition=Q(status="done")),
        ]

    def __str__(self) -> str:
        return f"{self.plan_id}:{self.customer_id}:{self.occasion}"


class VisitOptOut(TimeStampedModel):
    """A customer who asked not to be visited again: no plan creates tasks for them any more."""

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="visit_opt_out")
    source = models.CharField(_("source"), max_length=32, blank=True)

    def __str__(self) -> str:
        return f"{self.customer_id} opted out of visits"
