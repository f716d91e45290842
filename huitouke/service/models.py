"""The after-sales service desk (售后/投诉/纠纷): tickets, their history, playbook steps, replies, compensation and
attachments, and the shop's service settings: business calendar, SLA policies, playbooks.

SLA clocks: each ticket carries three clocks (first response, next response, resolution). Per clock the model
stores its due time (the business-calendar due or, when earlier, the platform's wall-clock deadline), the instant
at which it becomes "breaching soon" (`*_warn_at`, by default 80 % of its business time gone) and its state. The
per-minute tick (`services.sla_tick`) flips states with set-based UPDATEs over the partial indexes below; the
ticket's `sla_state`/`sla_due` summarise the clocks still running, for the queue views.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from huitouke.core.models import TimeStampedModel
from huitouke.customers.models import Customer
from huitouke.messaging.models import Message
from huitouke.orders.models import Order, OrderLine, Shop


class TicketType(models.TextChoices):
    RETURN = "return", _("Return")
    EXCHANGE = "exchange", _("Exchange")
    REFUND = "refund", _("Refund")
    REPAIR = "repair", _("Repair (warranty)")
    LOGISTICS = "logistics", _("Delivery problem (delay, damage, lost)")
    QUALITY = "quality", _("Quality problem")
    WRONG_ITEM = "wrong_item", _("Wrong item sent")
    NOT_AS_DESCRIBED = "not_as_described", _("Not as described")
    NEGATIVE_REVIEW = "negative_review", _("Negative review")
    COMPLAINT = "complaint", _("Complaint")
    DISPUTE = "dispute", _("Platform dispute")
    INQUIRY = "inquiry", _("Inquiry")


class TicketChannel(models.TextChoices):
    WANGWANG = "wangwang", _("Wangwang / Qianniu")
    PHONE = "phone", _("Phone call")
    SMS = "sms", _("SMS")
    EMAIL = "email", _("Email")
    SELF_SERVICE = "self_service", _("Self-service page")
    REVIEW = "review", _("Review")
    PLATFORM = "platform", _("Platform")
    OTHER = "other", _("Other")


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class TicketStatus(models.TextChoices):
    NEW = "new", _("New ticket")
    OPEN = "open", _("Open")
    WAITING_CUSTOMER = "waiting_customer", _("Waiting for the customer")
    WAITING_THIRD_PARTY = "waiting_third_party", _("Waiting for a third party")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


#: Statuses of a ticket still being worked (the customer's case is not finished).
OPEN_STATUSES = (
    TicketStatus.NEW,
    TicketStatus.OPEN,
    TicketStatus.WAITING_CUSTOMER,
    TicketStatus.WAITING_THIRD_PARTY,
)


class SlaState(models.TextChoices):
    OK = "ok", _("On time")
    BREACHING_SOON = "breaching_soon", _("Breaching soon")
    BREACHED = "breached", _("Breached")


class Clock(models.TextChoices):
    FIRST_RESPONSE = "first_response", _("First response")
    NEXT_RESPONSE = "next_response", _("Next response")
    RESOLUTION = "resolution", _("Resolution")


_OPEN = Q(status__in=list(OPEN_STATUSES))


def attachment_storage() -> Storage:
    """Where attachments live: the `service_attachments` storage when one is configured (STORAGES), otherwise a
    private folder under HUITOUKE_HOME that no URL serves (files go out only through the checked view)."""
    if "service_attachments" in settings.STORAGES:
        return storages["service_attachments"]
    return FileSystemStorage(location=settings.HUITOUKE_HOME / "attachments", base_url=None)


class ServiceSettings(TimeStampedModel):
    """A shop's service-desk settings and its ticket number counter (one row per shop, made on first use)."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="service_settings")
    last_number = models.PositiveIntegerField(_("last ticket number"), default=0)
    agent_compensation_limit = models.DecimalField(
        _("compensation an agent may grant alone"), max_digits=12, decimal_places=2, default=50
    )
    follow_up_days = models.PositiveSmallIntegerField(_("follow up after resolution (days)"), default=7)
    breaching_soon_percent = models.PositiveSmallIntegerField(
        _("breaching soon at (percent of the time gone)"), default=80
    )
    self_service_enabled = models.BooleanField(_("self-service help page on"), default=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(breaching_soon_percent__gte=1) & Q(breaching_soon_percent__lte=99),
                name="servicesettings_soon_percent_range",
            ),
            models.CheckConstraint(condition=Q(agent_compensation_limit__gte=0), name="servicesettings_limit_gte_0"),
        ]

    def __str__(self) -> str:
        return f"service settings {self.shop_id}"


class ServiceCalendar(TimeStampedModel):
    """A shop's business calendar for SLA clocks: time zone, working periods of a day ("09:00-12:00"), ISO
    weekdays (Monday = 1), public holidays with their make-up working days ("CN") or none, and the shop's own
    extra days off and working days. A shop without one uses the defaults of `calendar_for_shop`."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="service_calendar")
    timezone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    periods = models.JSONField(_("working periods"), default=list)
    weekdays = models.JSONField(_("working weekdays"), default=list)
    public_holidays = models.CharField(_("public holidays"), max_length=8, blank=True, default="CN")
    days_off = models.JSONField(_("extra days off"), default=list, blank=True)
    workdays = models.JSONField(_("extra working days"), default=list, blank=True)

    def __str__(self) -> str:
        return f"calendar {self.shop_id}"


class SlaPolicy(TimeStampedModel):
    """Response and resolution targets in business minutes. Policies are tried by `position` (then id); the first
    whose lists all match the ticket wins (an empty list matches anything). `shop` null: for every shop; a shop's
    own policies are tried before those. `levels` are member level names (loyalty) in the ticket's shop."""

    shop = models.ForeignKey(Shop, null=True, blank=True, on_delete=models.CASCADE, related_name="sla_policies")
    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(_("position"), default=100)
    types = models.JSONField(_("types"), default=list, blank=True)
    priorities = models.JSONField(_("priorities"), default=list, blank=True)
    channels = models.JSONField(_("channels"), default=list, blank=True)
    levels = models.JSONField(_("member levels"), default=list, blank=True)
    first_response_minutes = models.PositiveIntegerField(_("first response (business minutes)"))
    next_response_minutes = models.PositiveIntegerField(_("next response (business minutes)"))
    resolution_minutes = models.PositiveIntegerField(_("resolution (business minutes)"))

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(first_response_minutes__gte=1)
                & Q(next_response_minutes__gte=1)
                & Q(resolution_minutes__gte=1),
                name="slapolicy_minutes_gte_1",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Playbook(TimeStampedModel):
    """A checklist of steps put on tickets of some types. `shop` null: the shipped default for every shop; a
    shop's own playbook for a type replaces the default for that type. `key` names the shipped ones."""

    shop = models.ForeignKey(Shop, null=True, blank=True, on_delete=models.CASCADE, related_name="playbooks")
    key = models.CharField(_("key"), max_length=32)
    name = models.CharField(_("name"), max_length=100)
    types = models.JSONField(_("ticket types"), default=list)
    position = models.PositiveIntegerField(_("position"), default=100)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "key"], name="playbook_shop_key_uniq"),
            models.UniqueConstraint(fields=["key"], condition=Q(shop__isnull=True), name="playbook_default_key_uniq"),
        ]

    def __str__(self) -> str:
        return self.name


class PlaybookStep(models.Model):
    """One step of a playbook. Labels of the shipped steps are English message ids shown translated."""

    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="steps")
    key = models.CharField(_("key"), max_length=32)
    label = models.CharField(_("step"), max_length=200)
    help = models.TextField(_("help"), blank=True)
    required = models.BooleanField(_("required"), default=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["playbook", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["playbook", "key"], name="playbookstep_key_uniq")]

    def __str__(self) -> str:
        return self.label


class Ticket(TimeStampedModel):
    """An after-sales case (售后单/工单) of one customer in one shop, optionally about an order and some lines.

    `number` is readable and unique per shop (allocated from ServiceSettings.last_number). `first_owner` is the
    first staff member who took or answered the ticket (首问负责制) and never changes; `owner` is who works it now.
    `pauses` lists the finished pauses of the SLA clocks ([start, end] ISO pairs); `paused_at` is set while
    waiting for the customer (the business due times are then unknown, None; a platform deadline still runs);
    `paused_seconds` totals the business seconds paused.
    """

    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="tickets", db_index=False)
    number = models.PositiveIntegerField(_("number"))
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="tickets", db_index=False)
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.PROTECT, related_name="tickets", db_index=False
    )
    order_lines = models.ManyToManyField(OrderLine, blank=True, related_name="tickets")
    type = models.CharField(_("type"), max_length=20, choices=TicketType.choices)
    channel = models.CharField(_("channel"), max_length=16, choices=TicketChannel.choices)
    priority = models.CharField(_("priority"), max_length=8, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(_("status"), max_length=20, choices=TicketStatus.choices, default=TicketStatus.NEW)
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), blank=True)

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    first_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    first_owned_at = models.DateTimeField(_("first taken"), null=True, blank=True)

    sla_policy = models.ForeignKey(
        SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets", db_index=False
    )
    platform_deadline = models.DateTimeField(_("platform deadline"), null=True, blank=True)
    first_response_due = models.DateTimeField(_("first response due"), null=True, blank=True)
    first_response_warn_at = models.DateTimeField(null=True, blank=True)
    first_response_state = models.CharField(max_length=16, choices=SlaState.choices, default=SlaState.OK)
    first_responded_at = models.DateTimeField(_("first response"), null=True, blank=True)
    next_response_due = models.DateTimeField(_("next response due"), null=True, blank=True)
    next_response_warn_at = models.DateTimeField(null=True, blank=True)
    next_response_state = models.CharField(max_length=16, choices=SlaState.choices, default=SlaState.OK)
    next_response_started_at = models.DateTimeField(_("customer waiting since"), null=True, blank=True)
    resolution_due = models.DateTimeField(_("resolution due"), null=True, blank=True)
    resolution_warn_at = models.DateTimeField(null=True, blank=True)
    resolution_state = models.CharField(max_length=16, choices=SlaState.choices, default=SlaState.OK)
    sla_state = models.CharField(_("SLA"), max_length=16, choices=SlaState.choices, default=SlaState.OK)
    sla_due = models.DateTimeField(_("next due"), null=True, blank=True)
    paused_at = models.DateTimeField(_("paused since"), null=True, blank=True)
    paused_seconds = models.PositiveIntegerField(_("business seconds paused"), default=0)
    pauses = models.JSONField(default=list, blank=True)

    last_customer_message_at = models.DateTimeField(null=True, blank=True)
    last_replied_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    reopen_count = models.PositiveSmallIntegerField(_("reopened"), default=0)
    resolve_reason = models.TextField(_("resolved with open steps because"), blank=True)
    platform_refund_id = models.CharField(_("platform refund id"), max_length=64, blank=True)
    platform_status = models.CharField(_("platform status"), max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("configure_service", "Can set the service calendar, SLA policies and playbooks"),
            ("approve_compensation", "Can approve compensation above the agent limit"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["shop", "number"], name="ticket_shop_number_uniq"),
            models.UniqueConstraint(
                fields=["shop", "platform_refund_id"], condition=~Q(platform_refund_id=""), name="ticket_refund_uniq"
            ),
            models.CheckConstraint(condition=Q(number__gte=1), name="ticket_number_gte_1"),
        ]
        # Queue views read the first page of a partial index each; the tick reads one per clock.
        indexes = [
            models.Index(fields=["shop", "-created_at", "-id"], name="ticket_shop_created_idx"),
            # the "all" view (newest first) and its keyset pages (core.keyset) across every shop
            models.Index(fields=["-created_at", "-id"], name="ticket_created_idx"),
            # the "all" view filtered by one status: counted and paged from this range, not by reading every
            # ticket until enough have that status (a rare status in a large archive read the whole table)
            models.Index(fields=["status", "-created_at", "-id"], name="ticket_status_created_idx"),
            models.Index(fields=["customer", "-created_at"], name="ticket_customer_idx"),
            models.Index(fields=["order"], name="ticket_order_idx", condition=Q(order__isnull=False)),
            models.Index(fields=["owner", "sla_due", "id"], name="ticket_mine_idx", condition=_OPEN),
            models.Index(
                fields=["first_owner", "-updated_at", "-id"],
                name="ticket_followup_idx",
                condition=~Q(status=TicketStatus.CLOSED) & Q(first_owner__isnull=False),
            ),
            models.Index(
                fields=["sla_due", "id"], name="ticket_unassigned_idx", condition=_OPEN & Q(owner__isnull=True)
            ),
            models.Index(
                fields=["sla_due", "id"],
                name="ticket_breaching_idx",
                condition=_OPEN & Q(sla_state=SlaState.BREACHING_SOON),
            ),
            models.Index(
                fields=["first_response_warn_at"],
                name="ticket_tick_first_idx",
                condition=_OPEN & Q(first_responded_at__isnull=True) & ~Q(first_response_state=SlaState.BREACHED),
            ),
            models.Index(
                fields=["next_response_warn_at"],
                name="ticket_tick_next_idx",
                condition=_OPEN & Q(next_response_due__isnull=False) & ~Q(next_response_state=SlaState.BREACHED),
            ),
            models.Index(
                fields=["resolution_warn_at"],
                name="ticket_tick_resolution_idx",
                condition=_OPEN & Q(resolution_due__isnull=False) & ~Q(resolution_state=SlaState.BREACHED),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.subject}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_paused(self) -> bool:
        return self.paused_at is not None


class TicketTag(models.Model):
    """A label on a ticket (filterable in the queues)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="tags", db_index=False)
    name = models.CharField(_("tag"), max_length=50)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["ticket", "name"], name="tickettag_uniq")]
        indexes = [models.Index(fields=["name", "ticket"], name="tickettag_name_idx")]

    def __str__(self) -> str:
        return self.name


class TicketEvent(models.Model):
    """One entry of a ticket's history: who (null: the system) did what, when, old → new, and a note."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        UPDATED = "updated", _("Changed")
        TAKEN = "taken", _("Taken")
        TRANSFERRED = "transferred", _("Transferred")
        ASSIGNED = "assigned", _("Assigned")
        STATUS = "status", _("Status changed")
        REPLY = "reply", _("Replied to the customer")
        NOTE = "note", _("Internal note")
        CUSTOMER_MESSAGE = "customer_message", _("Customer wrote")
        STEP = "step", _("Step done")
        COMPENSATION = "compensation", _("Compensation")
        COMPENSATION_APPROVED = "compensation_approved", _("Compensation approved")
        ATTACHMENT = "attachment", _("Attachment added")
        SLA_POLICY = "sla_policy", _("SLA policy applied")
        SLA_BREACHING = "sla_breaching", _("SLA breaching soon")
        SLA_BREACHED = "sla_breached", _("SLA breached")
        ESCALATED = "escalated", _("Escalated to the managers")
        FOLLOW_UP = "follow_up", _("Follow-up scheduled")
        SURVEY_SENT = "survey_sent", _("Satisfaction survey sent")
        SURVEY_ANSWERED = "survey_answered", _("Satisfaction survey answered")
        RECOVERY = "recovery", _("Recovery ticket opened")
        PRAISE = "praise", _("Marked as praise")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events", db_index=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    kind = models.CharField(_("event"), max_length=24, choices=Kind.choices)
    old = models.CharField(_("from"), max_length=200, blank=True)
    new = models.CharField(_("to"), max_length=200, blank=True)
    note = models.TextField(_("details"), blank=True)
    at = models.DateTimeField(_("at"))

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["ticket", "at", "id"], name="ticketevent_ticket_idx")]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.kind} {self.old}→{self.new}"


class TicketStep(models.Model):
    """A playbook step on one ticket, copied from the playbook when the ticket was made; ticked once."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="steps")
    key = models.CharField(_("key"), max_length=32)
    label = models.CharField(_("step"), max_length=200)
    help = models.TextField(_("help"), blank=True)
    required = models.BooleanField(_("required"), default=True)
    position = models.PositiveIntegerField(default=0)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )

    class Meta:
        ordering = ["ticket", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["ticket", "key"], name="ticketstep_key_uniq")]

    def __str__(self) -> str:
        return f"{self.ticket_id}:{self.key}"


class SlaBreach(models.Model):
    """One missed SLA clock on a ticket, recorded once per (ticket, clock, due time)."""

    # Written in bulk by the tick from the ticket rows themselves (INSERT … SELECT), so no database-level
    # foreign key: its deferred check at commit cost more than the inserts (Django still cascades deletes).
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="breaches", db_index=False, db_constraint=False
    )
    clock = models.CharField(_("clock"), max_length=16, choices=Clock.choices)
    due = models.DateTimeField(_("due"))
    at = models.DateTimeField(_("noticed"))
    notified = models.BooleanField(_("notified"), default=False)

    class Meta:
        ordering = ["at", "id"]
        constraints = [models.UniqueConstraint(fields=["ticket", "clock", "due"], name="slabreach_once_uniq")]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.clock} {self.due:%Y-%m-%d %H:%M}"


class Compensation(models.Model):
    """One entry of a ticket's compensation ledger (适度赔偿): what the customer gets and what it costs the shop."""

    class Kind(models.TextChoices):
        REFUND = "refund", _("Refund")
        PARTIAL_REFUND = "partial_refund", _("Partial refund")
        REPLACEMENT = "replacement", _("Replacement")
        RESEND = "resend", _("Resend (补发)")
        GIFT = "gift", _("Gift")
        COUPON = "coupon", _("Coupon")
        FREE_SHIPPING = "free_shipping", _("Free shipping")
        APOLOGY = "apology", _("Apology")

    class Status(models.TextChoices):
        PENDING_APPROVAL = "pending_approval", _("Waiting for a manager")
        APPROVED = "approved", _("Approved")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="compensations")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    amount = models.DecimalField(_("to the customer"), max_digits=12, decimal_places=2, default=0)
    cost = models.DecimalField(_("cost to the shop"), max_digits=12, decimal_places=2, default=0)
    order_line = models.ForeignKey(
        OrderLine, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    note = models.TextField(_("reason"), blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.APPROVED)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0) & Q(cost__gte=0), name="compensation_amounts_gte_0"),
        ]
        indexes = [
            models.Index(fields=["status"], name="compensation_pending_idx", condition=Q(status="pending_approval"))
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.kind} {self.amount}"


class TicketReply(models.Model):
    """A message on a ticket: a public reply to the customer (sent through messaging, `message` is its outbox
    row), an internal note (never sent), or what the customer wrote back."""

    class Kind(models.TextChoices):
        PUBLIC = "public", _("Reply to the customer")
        INTERNAL = "internal", _("Internal note")
        CUSTOMER = "customer", _("From the customer")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="replies", db_index=False)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    channel = models.CharField(_("channel"), max_length=16, blank=True)
    body = models.TextField(_("text"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(_("at"))

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="ticketreply_ticket_idx")]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.kind}"

    @property
    def internal(self) -> bool:
        return self.kind == self.Kind.INTERNAL


class Attachment(models.Model):
    """A photo or file on a ticket. The content type is sniffed from the bytes; served only by a view that
    checks the viewer may see the ticket."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("file"), storage=attachment_storage, upload_to="service/%Y/%m/", max_length=255)
    name = models.CharField(_("name"), max_length=255)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveIntegerField(_("size"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(_("added"), auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.name


class Notification(models.Model):
    """An in-app notice for one staff member (a status change on a ticket they first owned, an SLA breach, an
    escalation, a compensation to approve). `kind` and `detail` are rendered in the reader's language."""

    class Kind(models.TextChoices):
        STATUS = "status", _("Ticket status changed")
        BREACHING = "breaching", _("SLA breaching soon")
        BREACHED = "breached", _("SLA breached")
        ESCALATED = "escalated", _("Unassigned ticket past its first response")
        DIGEST = "digest", _("SLA summary")
        TRANSFER = "transfer", _("Ticket handed to you")
        APPROVAL = "approval", _("Compensation waiting for approval")
        NEGATIVE_REVIEW = "neg_review", _("Negative review")
        CSAT_LOW = "csat_low", _("Low satisfaction rating")

    # Written in bulk by the SLA tick (INSERT … SELECT from the tickets): no database-level foreign keys, whose
    # deferred checks at commit cost more than the inserts; Django still cascades deletes.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    ticket = models.ForeignKey(
        Ticket,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,
        db_constraint=False,
    )
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("at"))
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="notification_user_idx"),
            models.Index(fields=["ticket"], name="notification_ticket_idx", condition=Q(ticket__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}"


class PortalThrottle(models.Model):
    """A counter of the public self-service page's requests per key (a hash of the client address, the order
    number tried or the ticket) and fixed time window, shared by every process through the database."""

    key = models.CharField(max_length=64)
    window_start = models.DateTimeField()
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "window_start"], name="portalthrottle_key_window_uniq")]
        indexes = [models.Index(fields=["window_start"], name="portalthrottle_window_idx")]

    def __str__(self) -> str:
        return f"{self.key} {self.window_start:%Y-%m-%d %H:%M} {self.hits}"


class AftersalesMapping(TimeStampedModel):
    """A saved column mapping for refund exports in no known layout (JD 服务单, PDD 售后单, Shopify …): {our field:
    their header}, offered again on the next upload."""

    name = models.CharField(_("name"), max_length=64, unique=True)
    mapping = models.JSONField(_("mapping"), default=dict)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


# the satisfaction surveys' models live in their own module and belong to this app
# The canned-reply library lives in its own module; importing it here registers its models with the app.
from huitouke.service.replies.models import CannedReply, ReplyImage, WordingRules  # noqa: E402, F401
from huitouke.service.survey_models import Survey as Survey  # noqa: E402
from huitouke.service.survey_models import SurveyQuestion as SurveyQuestion  # noqa: E402
from huitouke.service.survey_models import SurveySettings as SurveySettings  # noqa: E402
