"""Canned replies (话术库), their pictures and each shop's wording rules. Registered with the service app: its
models module imports this one."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from huitouke.core.models import TimeStampedModel
from huitouke.orders.models import Shop
from huitouke.service.models import TicketType, attachment_storage


class ReplyCategory(models.TextChoices):
    """The scenario a reply answers (the seeds' 客服常见问题集 and the after-sales cases)."""

    REVIEW = "review", _("Neutral or negative review")
    COLOUR = "colour", _("Colour differs from the photo")
    BARGAIN = "bargain", _("Bargaining")
    SHIPPING = "shipping", _("Free shipping")
    PAYMENT = "payment", _("Worries about paying")
    NEW_ARRIVALS = "new_arrivals", _("Nothing suitable: new arrivals")
    TRACKING = "tracking", _("Parcel tracking")
    ARRIVAL = "arrival", _("Arrival check")
    RETURN = "return", _("Return or exchange")
    REFUND = "refund", _("Refund")
    QUALITY = "quality", _("Quality or wrong item")
    COMPLAINT = "complaint", _("Complaint or dispute")
    APOLOGY = "apology", _("Apology and compensation")
    GENERAL = "general", _("General")


class ReplyLanguage(models.TextChoices):
    ZH = "zh-hans", _("Chinese")
    EN = "en", _("English")


class CannedReply(TimeStampedModel):
    """One canned reply. Scope: shipped (no shop, no owner: every shop, `key` names it), the shop's (shop set,
    no owner; managers edit them) or personal (owner set; only its owner sees and edits it, in every shop or in
    one). `initials` are the pinyin initials of the title, stored on save for search. `usage_count` and
    `last_used` count the times the reply was filled for a customer."""

    shop = models.ForeignKey(Shop, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(_("key"), max_length=48, blank=True)
    language = models.CharField(_("language"), max_length=8, choices=ReplyLanguage.choices, default="zh-hans")
    category = models.CharField(_("scenario"), max_length=16, choices=ReplyCategory.choices)
    ticket_type = models.CharField(_("ticket type"), max_length=20, choices=TicketType.choices, blank=True)
    title = models.CharField(_("title"), max_length=100)
    body = models.TextField(_("text"))
    initials = models.CharField(_("pinyin initials"), max_length=200, blank=True, db_index=True)
    usage_count = models.PositiveIntegerField(_("used"), default=0)
    last_used = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        ordering = ["category", "title", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["key", "language"], condition=~Q(key=""), name="cannedreply_key_language_uniq"
            ),
        ]
        indexes = [models.Index(fields=["category", "language"], name="cannedreply_category_idx")]

    def __str__(self) -> str:
        return self.title

    @property
    def scope(self) -> str:
        if self.owner_id:
            return "personal"
        return "shop" if self.shop_id else "shipped"


class ReplyImage(models.Model):
    """A picture sent with a canned reply (a size chart, how to pack a return). Typed by its bytes."""

    reply = models.ForeignKey(CannedReply, on_delete=models.CASCADE, related_name="images")
    file = models.FileField(_("file"), storage=attachment_storage, upload_to="replies/%Y/%m/", max_length=255)
    name = models.CharField(_("name"), max_length=255)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveIntegerField(_("size"))
    created_at = models.DateTimeField(_("added"), auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.name


class WordingRules(TimeStampedModel):
    """A shop's wording check: the greeting a reply should open with, banned words, the SMS length limit.
    A shop without a row uses the defaults (亲; 肯定, 保证, 绝对; 70)."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="wording_rules")
    enabled = models.BooleanField(_("show wording hints"), default=True)
    greeting = models.CharField(_("greeting"), max_length=20, blank=True, default="亲")
    banned = models.JSONField(_("banned words"), default=list, blank=True)
    sms_limit = models.PositiveSmallIntegerField(_("longest text for one SMS"), default=70)

    def __str__(self) -> str:
        return f"wording {self.shop_id}"
