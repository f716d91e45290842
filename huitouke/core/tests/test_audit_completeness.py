"""Audit completeness (issue 20, item 7): every security-relevant action, done the way staff do it (page, API,
command or service), leaves exactly one audit entry naming the action and the object."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from freezegun import freeze_time

from huitouke.audiences.services import segment_create
from huitouke.care.tests.factories import make_rule
from huitouke.core.audit import audit_prune, record
from huitouke.core.models import AuditEntry
from huitouke.core.services import token_create, token_revoke, user_create
from huitouke.customers.exports import customers_export
from huitouke.customers.selectors import CustomerFilter
from huitouke.customers.services import customer_merge
from huitouke.customers.tests.factories import CustomerFactory
from huitouke.orders.tests.factories import ShopFactory

PASSWORD = "pass-word-123"
GOLDEN = Path(__file__).resolve().parents[2] / "orders" / "importers" / "tests" / "golden"


@dataclass
class Env:
    make_user: Callable[..., User]
    client_as: Callable[[str], Client]
    api_client_as: Callable[[str], Client]
    tmp_path: Path
    marks: list[int] = field(default_factory=list)

    def mark(self) -> None:
        """Everything before this is set-up; the action follows."""
        self.marks.append(AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0)

    def signed_in(self, username: str = "kefu", role: str = "agent") -> Client:
        self.make_user(role, username=username)
        client = Client(REMOTE_ADDR="198.51.100.8")
        assert client.post("/login/", {"username": username, "password": PASSWORD}).status_code == 302
        return client


def _json(client: Client, method: str, url: str, body: Any) -> Any:
    return getattr(client, method)(url, json.dumps(body), content_type="application/json")


# Each case does its set-up, calls env.mark(), performs one action and returns the (action, object type) expected.


def sign_in(env: Env) -> tuple[str, str]:
    env.make_user("agent", username="kefu")
    env.mark()
    Client().post("/login/", {"username": "kefu", "password": PASSWORD})
    return "login", "user"


def sign_in_failure(env: Env) -> tuple[str, str]:
    env.make_user("agent", username="kefu")
    env.mark()
    Client().post("/login/", {"username": "kefu", "password": "not-the-password"})
    return "login_failed", "user"


def sign_out(env: Env) -> tuple[str, str]:
    client = env.signed_in()
    env.mark()
    client.post("/logout/")
    return "logout", "user"


def user_created(env: Env) -> tuple[str, str]:
    env.mark()
    user_create(username="newbie", role="agent", password="blue-teapot-river")
    return "user", "user"


def role_changed(env: Env) -> tuple[str, str]:
    env.make_user("agent", username="kefu")
    env.mark()
    call_command("setrole", "kefu", "manager", stdout=io.StringIO())
    return "user", "user"


def password_changed(env: Env) -> tuple[str, str]:
    client = env.signed_in()
    env.mark()
    new = "blue-teapot-river"
    client.post("/account/password/", {"old_password": PASSWORD, "new_password1": new, "new_password2": new})
    return "password", "user"


def two_factor_enrolled(env: Env) -> tuple[str, str]:
    client = env.signed_in()
    client.post("/account/two-factor/", {"op": "start"})
    device = TOTPDevice.objects.get(confirmed=False)
    env.mark()
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift)
    client.post("/account/two-factor/", {"op": "confirm", "code": f"{code:06d}"})
    return "two_factor", "user"


def signed_out_everywhere(env: Env) -> tuple[str, str]:
    client = env.signed_in()
    env.mark()
    client.post("/account/sign-out-everywhere/")
    return "sessions", "user"


def lockout_lifted(env: Env, settings: Any) -> tuple[str, str]:
    settings.AXES_FAILURE_LIMIT = 2
    env.make_user("agent", username="kefu")
    for _ in range(2):
        Client().post("/login/", {"username": "kefu", "password": "wrong-wrong-1"})
    owner = env.client_as("owner")
    lockout = owner.get("/account/lockouts/").context["lockouts"][0]
    env.mark()
    owner.post("/account/lockouts/lift/", {"kind": lockout.kind, "value": lockout.value})
    return "unlock", "lockout"


def token_created(env: Env) -> tuple[str, str]:
    user = env.make_user("agent", username="kefu")
    env.mark()
    token_create(user=user, name="erp")
    return "token", "token"


def token_revoked(env: Env) -> tuple[str, str]:
    user = env.make_user("agent", username="kefu")
    token, _key = token_create(user=user)
    env.mark()
    token_revoke(token_id=token.pk, user=user)
    return "token", "token"


def unmasked(env: Env) -> tuple[str, str]:
    customer = CustomerFactory.create(name="顾客", phone="13800001111")
    client = env.api_client_as("owner")
    env.mark()
    assert client.get(f"/api/v1/customers/{customer.pk}").status_code == 200
    return "unmask", "customer"


def exported(env: Env) -> tuple[str, str]:
    CustomerFactory.create(name="顾客", phone="13800001111")
    owner = env.make_user("owner", username="boss")
    env.mark()
    customers_export(filters=CustomerFilter(), user=owner, fmt="csv", out=io.BytesIO())
    return "export", "customer"


def imported(env: Env) -> tuple[str, str]:
    env.mark()
    call_command("import_orders", str(GOLDEN / "jd_orders_20250305.csv"), "--shop", "京东店", stdout=io.StringIO())
    return "import", "orders"


def merged(env: Env) -> tuple[str, str]:
    a, b = CustomerFactory.create(name="甲"), CustomerFactory.create(name="乙")
    owner = env.make_user("owner", username="boss")
    env.mark()
    customer_merge(source_id=a.pk, target_id=b.pk, actor=owner)
    return "merge", "customer"


def segment_deleted(env: Env) -> tuple[str, str]:
    segment = segment_create(name="复购", definition={"conditions": [{"field": "order_count", "min": 2}]})
    client = env.api_client_as("manager")
    env.mark()
    assert client.delete(f"/api/v1/segments/{segment.pk}").status_code == 204
    return "delete", "segment"


def care_rule_deleted(env: Env) -> tuple[str, str]:
    rule = make_rule("birthday")
    client = env.client_as("manager")
    env.mark()
    client.post(f"/care/{rule.pk}/delete/")
    return "delete", "care_rule"


def care_rule_switched(env: Env) -> tuple[str, str]:
    rule = make_rule("birthday")
    client = env.client_as("manager")
    env.mark()
    client.post(f"/care/{rule.pk}/toggle/", {"enabled": "0"})
    return "care_rule", "care_rule"


def sla_policy_changed(env: Env) -> tuple[str, str]:
    shop = ShopFactory.create(name="茶小铺")
    client = env.api_client_as("manager")
    policy = {
        "name": "加急", "position": 5, "types": ["complaint"], "priorities": [], "channels": [], "levels": [],
        "first_response_minutes": 10, "next_response_minutes": 20, "resolution_minutes": 240, "shop": shop.name,
    }  # fmt: skip
    env.mark()
    assert _json(client, "post", "/api/v1/service/sla-policies", policy).status_code == 201
    return "policy", "sla_policy"


def credit_policy_changed(env: Env) -> tuple[str, str]:
    ShopFactory.create(name="店A")
    client = env.api_client_as("manager")
    body = {"preset": "taobao", "rating_period_days": 15, "default_good_after_days": 15, "monthly_cap": 6,
            "same_item_days": 14}  # fmt: skip
    env.mark()
    assert _json(client, "put", "/api/v1/credit/settings?shop=店A", body).status_code == 200
    return "policy", "credit_settings"


def channel_changed(env: Env) -> tuple[str, str]:
    client = env.client_as("manager")
    env.mark()
    response = client.post("/messages/channels/0/manual/", {"provider": "manual", "enabled": "on"})
    assert response.status_code == 302
    return "channel", "channel"


def audit_pruned(env: Env) -> tuple[str, str]:
    with freeze_time("2020-01-01"):
        record(actor=None, action=AuditEntry.Action.EXPORT)
    env.mark()
    audit_prune(days=365)
    return "prune", "audit"


def store_connected(env: Env) -> tuple[str, str]:
    shop = ShopFactory.create(name="店B")
    client = env.client_as("manager")
    env.mark()
    form = {"woocommerce-shop": shop.pk, "woocommerce-address": "https://shop.example.com",
            "woocommerce-consumer_key": "ck_1", "woocommerce-consumer_secret": "cs_1",
            "woocommerce-webhook_secret": "wh_1"}  # fmt: skip
    assert client.post("/sources/stores/woocommerce/", form).status_code == 302
    return "settings", "order_source"


def customer_data_exported(env: Env) -> tuple[str, str]:
    customer = CustomerFactory.create(name="王小明", phone="13912345678")
    client = env.client_as("owner")
    env.mark()
    assert client.post(f"/customers/{customer.pk}/privacy/export/").status_code == 200
    return "data_export", "customer"


def customer_data_erased(env: Env) -> tuple[str, str]:
    customer = CustomerFactory.create(name="王小明", phone="13912345678")
    client = env.client_as("owner")
    env.mark()
    assert client.post(f"/customers/{customer.pk}/privacy/erase/", {"confirm": str(customer.pk)}).status_code == 302
    return "data_erase", "customer"


CASES: list[Callable[..., tuple[str, str]]] = [
    sign_in,
    sign_in_failure,
    sign_out,
    user_created,
    role_changed,
    password_changed,
    two_factor_enrolled,
    signed_out_everywhere,
    lockout_lifted,
    token_created,
    token_revoked,
    unmasked,
    exported,
    imported,
    merged,
    segment_deleted,
    care_rule_deleted,
    care_rule_switched,
    sla_policy_changed,
    credit_policy_changed,
    channel_changed,
    store_connected,
    customer_data_exported,
    customer_data_erased,
    audit_pruned,
]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__ for c in CASES])
def test_each_action_leaves_exactly_one_entry(
    case: Callable[..., tuple[str, str]],
    make_user: Callable[..., User],
    client_as: Callable[[str], Client],
    api_client_as: Callable[[str], Client],
    tmp_path: Path,
    settings: Any,
) -> None:
    env = Env(make_user=make_user, client_as=client_as, api_client_as=api_client_as, tmp_path=tmp_path)
    args = (env, settings) if case is lockout_lifted else (env,)

    action, target_type = case(*args)

    [mark] = env.marks
    entries = list(AuditEntry.objects.filter(id__gt=mark).exclude(action="prune" if action != "prune" else "-"))
    assert [(e.action, e.target_type) for e in entries] == [(action, target_type)]


def test_every_action_choice_is_covered_or_owned_elsewhere() -> None:
    """A new action must get a case above (or be listed here with where its test lives)."""
    covered = {"login", "login_failed", "logout", "user", "password", "two_factor", "sessions", "unlock", "token",
               "unmask", "export", "import", "merge", "delete", "care_rule", "policy", "channel", "prune",
               "data_export", "data_erase"}  # fmt: skip
    elsewhere = {
        "search": "customers/tests (contact searches are counted from the audit log)",
        "levels": "loyalty/tests (levels_configure)",
        "settings": "messaging/tests/test_views (consent model), visits/tests (plans); order sources above",
        "message": "messaging/tests (manual send)",
        "campaign": "campaigns: launched from the page (test_campaign_launch_is_audited below)",
    }
    assert set(AuditEntry.Action.values) == covered | set(elsewhere)


def test_campaign_launch_is_audited(client_as: Callable[[str], Client]) -> None:
    from huitouke.campaigns.models import Campaign
    from huitouke.campaigns.services import CampaignInput, campaign_save
    from huitouke.messaging.models import Template

    shop = ShopFactory.create(name="茶小铺")
    template = Template.objects.create(channel="sms", purpose="marketing", language="zh-hans", name="上新", body="亲")
    segment = segment_create(name="seg", definition={"conditions": [{"field": "order_count", "min": 1}]})
    campaign = campaign_save(
        data=CampaignInput(
            name="春茶", kind="winback", segment_id=segment.pk, channel="sms", template_id=template.pk, shop_id=shop.pk
        )
    )
    client = client_as("manager")
    mark = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0

    client.post(f"/campaigns/{campaign.pk}/send/")

    entries = list(AuditEntry.objects.filter(id__gt=mark))
    assert [(e.action, e.target_type, e.target_id) for e in entries] == [("campaign", "campaign", str(campaign.pk))]
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.LAUNCHING  # the job runs on commit
