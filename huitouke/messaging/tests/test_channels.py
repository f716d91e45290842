"""Channel adapters against real local servers (aiosmtpd, an HTTP sink), and the providers' published
signature examples."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import unquote

import pytest

from huitouke.messaging.channels import ADAPTERS, ChannelConfigError, Outcome, Outgoing
from huitouke.messaging.channels.email import EmailAdapter
from huitouke.messaging.channels.sms import AliyunSmsAdapter, TencentSmsAdapter, aliyun_signature, tc3_authorization
from huitouke.messaging.channels.webhook import (
    DingtalkAdapter,
    FeishuAdapter,
    WebhookAdapter,
    WecomAdapter,
    dingtalk_sign,
    feishu_sign,
    webhook_signature,
)


def out(i=1, **kw):
    base = {"id": i, "key": f"k{i}", "to": "13800000000", "body": "亲，您好", "purpose": "care"}
    base.update(kw)
    return Outgoing(**base)


# --- signatures: the providers' own documented examples ---------------------------------------------------------


def test_aliyun_signature_matches_the_documented_example():
    params = {
        "AccessKeyId": "testId",
        "Action": "SendSms",
        "Format": "XML",
        "OutId": "123",
        "PhoneNumbers": "15300000001",
        "RegionId": "cn-hangzhou",
        "SignName": "阿里云短信测试专用",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
        "SignatureVersion": "1.0",
        "TemplateCode": "SMS_71390007",
        "TemplateParam": '{"customer":"test"}',
        "Timestamp": "2017-07-12T02:42:19Z",
        "Version": "2017-05-25",
    }
    assert aliyun_signature(params, "testSecret", "GET") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_tc3_signature_matches_the_documented_example():
    payload = '{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
    assert hashlib.sha256(payload.encode()).hexdigest().startswith("35e9c5b0e3ae6753")
    header = tc3_authorization(
        secret_id="AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
        secret_key="Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
        service="cvm",
        host="cvm.tencentcloudapi.com",
        payload=payload,
        timestamp=1551113065,
    )
    assert header == (
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, "
        "SignedHeaders=content-type;host, "
        "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    )


def test_robot_signatures():
    mac = hmac.new(b"SECxyz", b"1700000000000\nSECxyz", hashlib.sha256).digest()
    assert unquote(dingtalk_sign("SECxyz", 1700000000000)) == base64.b64encode(mac).decode()
    feishu = hmac.new(b"1700000000\nsecret", b"", hashlib.sha256).digest()
    assert feishu_sign("secret", 1700000000) == base64.b64encode(feishu).decode()


# --- webhook -----------------------------------------------------------------------------------------------------


def test_webhook_posts_signed_json_with_the_idempotency_key(http_sink):
    adapter = WebhookAdapter(options={"url": f"{http_sink.url}/hook"}, secrets={"signing_secret": "s3cret"})
    results = adapter.send([out(1, params={"name": "王"}), out(2)])
    adapter.close()
    assert [r.outcome for r in results] == [Outcome.SENT, Outcome.SENT]
    first = http_sink.hits[0]
    assert first.path == "/hook"
    assert first.headers["Idempotency-Key"] == "k1"
    ts = int(first.headers["X-Huitouke-Timestamp"])
    assert first.headers["X-Huitouke-Signature"] == webhook_signature("s3cret", ts, first.body)
    assert first.json()["variables"] == {"name": "王"}
    assert first.json()["text"] == "亲，您好"


@pytest.mark.parametrize(("status", "outcome"), [(500, Outcome.RETRY), (429, Outcome.RETRY), (400, Outcome.REJECT)])
def test_webhook_status_decides_retry_or_reject(http_sink, status, outcome):
    http_sink.responder = lambda hit: (status, {"error": "x"}, {})
    adapter = WebhookAdapter(options={"url": http_sink.url}, secrets={"signing_secret": "s"})
    assert adapter.send([out()])[0].outcome == outcome


def test_webhook_to_a_closed_port_is_retried():
    adapter = WebhookAdapter(options={"url": "http://127.0.0.1:9/"}, secrets={"signing_secret": "s"})
    result = adapter.send([out()])[0]
    assert result.outcome == Outcome.RETRY
    assert "Connection" in result.error or "refused" in result.error.lower()


def test_required_settings_are_named():
    with pytest.raises(ChannelConfigError) as exc:
        WebhookAdapter(options={}, secrets={"signing_secret": "s"})
    assert exc.value.setting == "url"


@pytest.mark.parametrize(
    ("adapter_cls", "answer", "check"),
    [
        (WecomAdapter, {"errcode": 0, "errmsg": "ok"}, lambda body: body["text"]["content"] == "亲，您好"),
        (DingtalkAdapter, {"errcode": 0, "errmsg": "ok"}, lambda body: body["msgtype"] == "text"),
        (FeishuAdapter, {"code": 0, "msg": "success"}, lambda body: body["content"]["text"] == "亲，您好"),
    ],
)
def test_group_robot_formats(http_sink, adapter_cls, answer, check):
    http_sink.responder = lambda hit: (200, answer, {})
    adapter = adapter_cls(options={}, secrets={"url": f"{http_sink.url}/robot?key=abc", "signing_secret": "SECq"})
    assert adapter.send([out()])[0].outcome == Outcome.SENT
    hit = http_sink.hits[0]
    assert check(hit.json())
    if adapter_cls is DingtalkAdapter:
        assert hit.query["key"] == ["abc"]
        ts = int(hit.query["timestamp"][0])
        assert hit.query["sign"][0] == unquote(dingtalk_sign("SECq", ts))
    if adapter_cls is FeishuAdapter:
        body = hit.json()
        assert body["sign"] == feishu_sign("SECq", int(body["timestamp"]))


def test_robot_rate_limit_is_retried(http_sink):
    http_sink.responder = lambda hit: (200, {"errcode": 45009, "errmsg": "api freq out of limit"}, {})
    adapter = WecomAdapter(options={}, secrets={"url": http_sink.url})
    result = adapter.send([out()])[0]
    assert result.outcome == Outcome.RETRY
    assert "45009" in result.error


# --- SMS gateways ------------------------------------------------------------------------------------------------


def _aliyun(http_sink):
    return AliyunSmsAdapter(
        options={"endpoint": f"{http_sink.url}/", "sign_name": "茶小铺"},
        secrets={"access_key_id": "ak", "access_key_secret": "sk"},
    )


def test_aliyun_single_message_uses_sendsms_with_a_valid_signature(http_sink):
    http_sink.responder = lambda hit: (200, {"Code": "OK", "Message": "OK", "BizId": "900619746936498440^0"}, {})
    result = _aliyun(http_sink).send([out(1, params={"name": "小王"}, provider_code="SMS_1")])[0]
    assert result.outcome == Outcome.SENT
    assert result.provider_id == "900619746936498440^0"
    form = http_sink.hits[0].form()
    assert form["Action"] == "SendSms"
    assert form["PhoneNumbers"] == "13800000000"
    assert form["SignName"] == "茶小铺"
    assert json.loads(form["TemplateParam"]) == {"name": "小王"}
    assert form["OutId"] == "k1"
    signature = form.pop("Signature")
    assert signature == aliyun_signature(form, "sk", "POST")  # what Aliyun recomputes


def test_aliyun_batch_uses_sendbatchsms(http_sink):
    http_sink.responder = lambda hit: (200, {"Code": "OK", "BizId": "B1"}, {})
    batch = [out(i, to=f"1380000000{i}", params={"name": f"n{i}"}, provider_code="SMS_1") for i in range(3)]
    results = _aliyun(http_sink).send(batch)
    assert {r.outcome for r in results} == {Outcome.SENT}
    assert len(http_sink.hits) == 1
    form = http_sink.hits[0].form()
    assert form["Action"] == "SendBatchSms"
    assert json.loads(form["PhoneNumberJson"]) == ["13800000000", "13800000001", "13800000002"]
    assert json.loads(form["TemplateParamJson"]) == [{"name": "n0"}, {"name": "n1"}, {"name": "n2"}]
    assert json.loads(form["SignNameJson"]) == ["茶小铺"] * 3


def test_aliyun_without_a_template_code_is_rejected_without_a_call(http_sink):
    result = _aliyun(http_sink).send([out()])[0]
    assert result.outcome == Outcome.REJECT
    assert http_sink.hits == []


@pytest.mark.parametrize(
    ("code", "outcome"), [("isv.BUSINESS_LIMIT_CONTROL", Outcome.RETRY), ("isv.MOBILE_NUMBER_ILLEGAL", Outcome.REJECT)]
)
def test_aliyun_error_codes(http_sink, code, outcome):
    http_sink.responder = lambda hit: (200, {"Code": code, "Message": "x"}, {})
    assert _aliyun(http_sink).send([out(provider_code="SMS_1")])[0].outcome == outcome


def test_tencent_groups_equal_values_and_signs_tc3(http_sink):
    def answer(hit):
        body = hit.json()
        statuses = [
            {
                "PhoneNumber": p,
                "SerialNo": f"S{p[-1]}",
                "Code": "Ok" if not p.endswith("9") else "InvalidParameterValue.IncorrectPhoneNumber",
                "Message": "m",
            }
            for p in body["PhoneNumberSet"]
        ]
        return 200, {"Response": {"SendStatusSet": statuses, "RequestId": "r"}}, {}

    http_sink.responder = answer
    adapter = TencentSmsAdapter(
        options={"endpoint": f"{http_sink.url}/", "sdk_app_id": "1400006666", "sign_name": "茶小铺"},
        secrets={"secret_id": "AKID", "secret_key": "KEY"},
    )
    batch = [
        out(1, to="13800000001", params={"name": "a", "code": "1"}, param_order=("name", "code"), provider_code="T1"),
        out(2, to="13800000002", params={"name": "a", "code": "1"}, param_order=("name", "code"), provider_code="T1"),
        out(3, to="13800000009", params={"name": "b", "code": "1"}, param_order=("name", "code"), provider_code="T1"),
    ]
    results = {r.id: r for r in adapter.send(batch)}
    assert len(http_sink.hits) == 2  # one call per set of values
    assert results[1].outcome == Outcome.SENT
    assert results[1].provider_id == "S1"
    assert results[3].outcome == Outcome.REJECT
    first = http_sink.hits[0]
    body = first.json()
    assert body["PhoneNumberSet"] == ["+8613800000001", "+8613800000002"]
    assert body["TemplateParamSet"] == ["a", "1"]  # positional, in the template's order
    assert first.headers["X-TC-Action"] == "SendSms"
    expected = tc3_authorization(
        secret_id="AKID",
        secret_key="KEY",
        service="sms",
        host=first.headers["Host"],
        payload=first.body.decode(),
        timestamp=int(first.headers["X-TC-Timestamp"]),
    )
    assert first.headers["Authorization"] == expected


def test_tencent_request_errors_retry_or_reject(http_sink):
    http_sink.responder = lambda hit: (
        200,
        {"Response": {"Error": {"Code": "RequestLimitExceeded", "Message": "slow"}}},
        {},
    )
    adapter = TencentSmsAdapter(
        options={"endpoint": http_sink.url, "sdk_app_id": "1", "sign_name": "s"},
        secrets={"secret_id": "a", "secret_key": "b"},
    )
    assert adapter.send([out(provider_code="T")])[0].outcome == Outcome.RETRY
    http_sink.responder = lambda hit: (200, {"Response": {"Error": {"Code": "AuthFailure.SignatureFailure"}}}, {})
    assert adapter.send([out(provider_code="T")])[0].outcome == Outcome.REJECT


# --- email -------------------------------------------------------------------------------------------------------


def _email(smtp_sink):
    return EmailAdapter(
        options={
            "host": "127.0.0.1",
            "port": str(smtp_sink.port),
            "security": "none",
            "from_email": "茶小铺 <shop@example.com>",
        },
        secrets={},
    )


def test_marketing_mail_carries_one_click_unsubscribe_headers(smtp_sink):
    adapter = _email(smtp_sink)
    results = adapter.send(
        [
            out(
                1,
                to="a@example.com",
                subject="新品",
                body="新茶到了",
                purpose="marketing",
                unsubscribe_url="https://crm.example.com/messages/u/1.abc/",
            ),
            out(2, to="b@example.com", subject="发货", body="已发货", purpose="service"),
        ]
    )
    adapter.close()
    assert [r.outcome for r in results] == [Outcome.SENT, Outcome.SENT]
    marketing, service = smtp_sink.messages
    assert marketing["List-Unsubscribe"] == "<https://crm.example.com/messages/u/1.abc/>"
    assert marketing["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert results[0].provider_id == marketing["Message-ID"]
    # the text of a marketing mail carries its links from the enqueue (test_links.py): no second footer here
    assert marketing.get_payload(decode=True).decode().strip() == "新茶到了"
    assert service["List-Unsubscribe"] is None
    assert smtp_sink.recipients == [["a@example.com"], ["b@example.com"]]


def test_care_mail_gets_the_unsubscribe_footer_from_the_channel(smtp_sink):
    adapter = _email(smtp_sink)
    url = "https://crm.example.com/messages/u/1.abc/"
    adapter.send([out(1, to="a@example.com", subject="生日", body="生日快乐", purpose="care", unsubscribe_url=url)])
    adapter.close()
    (care,) = smtp_sink.messages
    assert care["List-Unsubscribe"] == f"<{url}>"
    assert care.get_payload(decode=True).decode().count(url) == 1


def test_a_refused_mailbox_is_rejected_and_the_rest_still_go(smtp_sink):
    smtp_sink.refuse.add("gone@example.com")
    adapter = _email(smtp_sink)
    results = adapter.send([out(1, to="gone@example.com", subject="s"), out(2, to="ok@example.com", subject="s")])
    assert [r.outcome for r in results] == [Outcome.REJECT, Outcome.SENT]


def test_an_unreachable_smtp_server_means_retry():
    adapter = EmailAdapter(
        options={"host": "127.0.0.1", "port": "9", "security": "none", "from_email": "a@b.c"}, secrets={}
    )
    assert adapter.send([out(to="x@example.com")])[0].outcome == Outcome.RETRY


def test_every_provider_is_registered():
    assert set(ADAPTERS) == {"smtp", "aliyun", "tencent", "webhook", "wecom", "dingtalk", "feishu", "manual"}
