"""Outbound safety: channel destinations on loopback, private, link-local or reserved addresses are refused on
save (naming the field) and at send time after DNS, unless the operator allows them. Sends go to real local
servers (sinks.py); the operator setting is off here (conftest turns it on for every other test)."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huitouke.messaging.channels import Outcome, Outgoing
from huitouke.messaging.channels import outbound as ob
from huitouke.messaging.channels.email import EmailAdapter
from huitouke.messaging.channels.webhook import WebhookAdapter, WecomAdapter


@pytest.fixture(autouse=True)
def _operator_allows_nothing(settings: Any) -> None:
    settings.HUITOUKE_OUTBOUND_ALLOW_PRIVATE = False
    settings.HUITOUKE_OUTBOUND_ALLOWED_NETWORKS = []


def out(i: int = 1) -> Outgoing:
    return Outgoing(id=i, key=f"k{i}", to="13800000000", body="亲，您好", purpose="care")


# --- the pure rules ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("10.0.0.5", "private"),
        ("172.16.3.4", "private"),
        ("192.168.1.1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("100.64.1.1", "shared"),
        ("240.0.0.1", "reserved"),
        ("192.0.2.1", "private"),
        ("8.8.8.8", ""),
        ("47.96.1.2", ""),
        ("2400:3200::1", ""),
        ("::ffff:8.8.8.8", ""),
    ],
)
def test_address_kinds(address: str, kind: str) -> None:
    assert ob.address_kind(ipaddress.ip_address(address)) == kind


@given(st.integers(0, 2**24 - 1))
def test_every_address_in_10_8_is_refused_unless_its_network_is_allowed(offset: int) -> None:
    ip = ipaddress.IPv4Address(int(ipaddress.IPv4Address("10.0.0.0")) + offset)
    inside = ip in ipaddress.ip_network("10.1.0.0/16")

    assert ob.refusal(ip, allow_private=False, allowed=[]) == "private"
    assert ob.refusal(ip, allow_private=True, allowed=[]) == ""
    assert ob.refusal(ip, allow_private=False, allowed=[ipaddress.ip_network("10.1.0.0/16")]) == (
        "" if inside else "private"
    )


@given(st.integers(0, 2**32 - 1))
def test_an_allowed_network_never_opens_another_family_or_a_public_address_is_always_fine(value: int) -> None:
    ip = ipaddress.IPv4Address(value)
    refused = ob.refusal(ip, allow_private=False, allowed=[ipaddress.ip_network("::/0")])

    assert refused == ob.address_kind(ip)
    if ip.is_global and not ip.is_multicast:
        assert refused == ""


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("fe80::1%eth0", "fe80::1"),
        ("example.com", None),
        ("", None),
    ],
)
def test_literal_addresses_in_every_spelling(host: str, address: str | None) -> None:
    found = ob.literal_address(host)
    assert (str(found) if found else None) == address


def test_send_time_check_resolves_and_refuses_a_public_name_with_a_private_address() -> None:
    with pytest.raises(ob.OutboundAddressError) as exc:
        ob.host_resolve_checked(
            "gw.example.com", 443, setting="endpoint", resolve=lambda h, p: ["47.96.1.2", "10.0.0.7"]
        )

    assert exc.value.setting == "endpoint"
    assert "gw.example.com" in exc.value.message
    assert "10.0.0.7" in exc.value.message


def test_send_time_check_gives_the_checked_address_to_connect_to() -> None:
    resolved = ob.host_resolve_checked("gw.example.com", 443, setting="url", resolve=lambda h, p: ["47.96.1.2"])
    assert resolved == "47.96.1.2"


def test_send_time_check_with_everything_allowed_does_not_resolve(settings: Any) -> None:
    settings.HUITOUKE_OUTBOUND_ALLOW_PRIVATE = True

    def no_dns(host: str, port: int) -> list[str]:
        raise AssertionError("no lookup expected")

    assert ob.host_resolve_checked("10.0.0.1", 80, setting="url", resolve=no_dns) is None


# --- on save: the adapter and the settings service name the field ------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://api.localhost/hook",
        "http://[::1]:9/",
        "http://169.254.169.254/latest/meta-data/",
        "https://10.20.30.40/hook",
        "http://2130706433/",
    ],
)
def test_a_webhook_url_on_an_internal_address_is_refused(url: str) -> None:
    with pytest.raises(ob.OutboundAddressError) as exc:
        WebhookAdapter(options={"url": url}, secrets={"signing_secret": "s"})

    assert exc.value.setting == "url"


def test_a_robot_url_kept_as_a_secret_is_checked_too() -> None:
    with pytest.raises(ob.OutboundAddressError) as exc:
        WecomAdapter(options={}, secrets={"url": "http://192.168.0.10/cgi-bin/webhook/send?key=abc"})

    assert exc.value.setting == "url"
    assert "key=abc" not in exc.value.message  # the message names the host, never the secret URL


def test_an_smtp_server_on_this_machine_is_refused() -> None:
    with pytest.raises(ob.OutboundAddressError) as exc:
        EmailAdapter(options={"host": "localhost", "from_email": "shop@example.com"}, secrets={})

    assert exc.value.setting == "host"


def test_the_operator_can_allow_one_network(settings: Any) -> None:
    settings.HUITOUKE_OUTBOUND_ALLOWED_NETWORKS = ["10.20.30.0/24"]

    WebhookAdapter(options={"url": "https://10.20.30.40/hook"}, secrets={"signing_secret": "s"}).close()
    with pytest.raises(ob.OutboundAddressError):
        WebhookAdapter(options={"url": "https://10.20.31.1/hook"}, secrets={"signing_secret": "s"})


@pytest.mark.django_db
def test_the_settings_service_refuses_and_keeps_nothing() -> None:
    from huitouke.messaging.models import ChannelConfig
    from huitouke.messaging.services import ChannelSettingsError, channel_config_save

    with pytest.raises(ChannelSettingsError) as exc:
        channel_config_save(
            shop_id=None,
            channel="webhook",
            provider="webhook",
            options={"url": "http://127.0.0.1:8000/admin"},
            secrets_new={"signing_secret": "s"},
        )

    assert exc.value.field == "url"
    assert ChannelConfig.objects.count() == 0


@pytest.mark.django_db
def test_the_settings_page_shows_the_error_at_the_field(client_as: Any) -> None:
    client = client_as("owner")

    resp = client.post(
        "/messages/channels/0/webhook/",
        {"provider": "webhook", "opt_url": "http://169.254.169.254/", "secret_signing_secret": "s", "enabled": "on"},
    )

    assert resp.status_code == 200
    errors = resp.context["form"].errors
    assert list(errors) == ["opt_url"]
    assert "169.254.169.254" in errors["opt_url"][0]


# --- at send time, after DNS -------------------------------------------------------------------------------------


def _own_name_is_internal() -> str | None:
    """This machine's host name when DNS (or /etc/hosts) gives it an internal address, as it usually does."""
    name = socket.gethostname()
    try:
        infos = socket.getaddrinfo(name, 80, type=socket.SOCK_STREAM)
    except OSError:
        return None
    kinds = {ob.address_kind(ipaddress.ip_address(str(i[4][0]).split("%")[0])) for i in infos}
    return name if "" not in kinds else None


def test_a_name_that_resolves_inside_is_refused_when_sending(http_sink: Any, settings: Any) -> None:
    name = _own_name_is_internal()
    if name is None:
        pytest.skip("this machine's name resolves to a public address")
    port = http_sink.url.rsplit(":", 1)[1]
    adapter = WebhookAdapter(options={"url": f"http://{name}:{port}/hook"}, secrets={"signing_secret": "s"})

    with pytest.raises(ob.OutboundAddressError) as exc:
        adapter.send([out()])

    assert exc.value.setting == "url"
    assert http_sink.hits == []


def test_sending_to_an_allowed_network_connects_to_the_checked_address(http_sink: Any, settings: Any) -> None:
    settings.HUITOUKE_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    adapter = WebhookAdapter(options={"url": f"{http_sink.url}/hook"}, secrets={"signing_secret": "s"})

    results = adapter.send([out(1), out(2)])
    adapter.close()

    assert [r.outcome for r in results] == [Outcome.SENT, Outcome.SENT]
    assert [h.path for h in http_sink.hits] == ["/hook", "/hook"]
    assert http_sink.hits[0].headers["Host"] == http_sink.url.split("//", 1)[1]


def test_smtp_refused_at_send_time_rejects_the_batch(smtp_sink: Any, settings: Any) -> None:
    settings.HUITOUKE_OUTBOUND_ALLOW_PRIVATE = True
    adapter = EmailAdapter(
        options={"host": "127.0.0.1", "port": str(smtp_sink.port), "security": "none", "from_email": "s@example.com"},
        secrets={},
    )
    settings.HUITOUKE_OUTBOUND_ALLOW_PRIVATE = False

    results = adapter.send([out(1), out(2)])

    assert [r.outcome for r in results] == [Outcome.REJECT, Outcome.REJECT]
    assert "127.0.0.1" in results[0].error
    assert smtp_sink.messages == []


def test_smtp_to_an_allowed_network_is_delivered(smtp_sink: Any, settings: Any) -> None:
    settings.HUITOUKE_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    adapter = EmailAdapter(
        options={"host": "127.0.0.1", "port": str(smtp_sink.port), "security": "none", "from_email": "s@example.com"},
        secrets={},
    )

    results = adapter.send([Outgoing(id=1, key="k1", to="a@example.com", body="hi", purpose="care", subject="s")])
    adapter.close()

    assert [r.outcome for r in results] == [Outcome.SENT]
    assert len(smtp_sink.messages) == 1


@pytest.mark.django_db
def test_the_dispatcher_fails_a_message_whose_destination_became_internal(http_sink: Any, settings: Any) -> None:
    """Saved while the operator allowed the gateway's network; once that is withdrawn, the send record says why."""
    from huitouke.messaging.dispatch import messages_dispatch
    from huitouke.messaging.models import Message
    from huitouke.messaging.services import OutgoingMessage, channel_config_save, message_enqueue_many

    settings.HUITOUKE_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    http_sink.responder = lambda hit: (200, {"errcode": 0, "errmsg": "ok"}, {})
    channel_config_save(
        shop_id=None, channel="webhook", provider="wecom", options={}, secrets_new={"url": f"{http_sink.url}/r?key=k"}
    )
    settings.HUITOUKE_OUTBOUND_ALLOWED_NETWORKS = []
    message_enqueue_many(
        messages=[
            OutgoingMessage(idempotency_key="alert:1", channel="webhook", purpose="service", subject="s", body="b")
        ]
    )

    messages_dispatch()

    m = Message.objects.get()
    assert m.status == "failed"
    assert "127.0.0.1" in m.detail
    assert "key=k" not in m.detail
    assert http_sink.hits == []
