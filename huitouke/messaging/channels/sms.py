"""SMS gateways: Aliyun SMS (Dysmsapi SendSms / SendBatchSms, RPC signature v1) and Tencent Cloud SMS (SendSms,
API 3.0 with TC3-HMAC-SHA256). Endpoints are settings, so a test (or a proxy) can stand in for the provider.

Both gateways send approved templates, not free text: a message carries its template's provider code and the
variables; the gateway puts the shop's signature (【签名】) in front. Batches use the providers' batch calls:
Aliyun SendBatchSms takes up to 100 numbers with one set of variables each; Tencent SendSms up to 200 numbers
that share one set of variables.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import ClassVar
from urllib.parse import quote, urlsplit

from django.utils.translation import gettext_lazy as _

from huitouke.messaging.channels.base import (
    URL_SETTING_HELP,
    HttpTransientError,
    Outcome,
    Outgoing,
    Result,
    Setting,
    rejected,
    retry,
)
from huitouke.messaging.channels.webhook import _HttpAdapter

NO_TEMPLATE = "no approved SMS template code (set it on the template)"


def _percent(value: str) -> str:
    """RFC 3986 encoding as Aliyun's signature wants it: space %20, * %2A, ~ kept."""
    return quote(value, safe="~")


def aliyun_signature(params: Mapping[str, str], secret: str, method: str = "POST") -> str:
    """Aliyun RPC signature v1: base64 HMAC-SHA1 under "{secret}&" of
    METHOD & %2F & percent(sorted, percent-encoded query)."""
    query = "&".join(f"{_percent(k)}={_percent(params[k])}" for k in sorted(params))
    to_sign = f"{method}&{_percent('/')}&{_percent(query)}"
    mac = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(mac).decode()


def tc3_authorization(*, secret_id: str, secret_key: str, service: str, host: str, payload: str, timestamp: int) -> str:
    """Tencent Cloud API 3.0 Authorization header (TC3-HMAC-SHA256) for a JSON POST to `host`."""
    date = datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d")
    content_type = "application/json; charset=utf-8"
    canonical = "\n".join(
        [
            "POST",
            "/",
            "",
            f"content-type:{content_type}\nhost:{host}\n",
            "content-type;host",
            hashlib.sha256(payload.encode()).hexdigest(),
        ]
    )
    scope = f"{date}/{service}/tc3_request"
    to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"

    def _mac(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    signing = _mac(_mac(_mac(f"TC3{secret_key}".encode(), date), service), "tc3_request")
    signature = hmac.new(signing, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders=content-type;host, Signature={signature}"


def e164_cn(phone: str) -> str:
    """Tencent wants E.164: 13812345678 -> +8613812345678; numbers already with + stay as they are."""
    phone = phone.strip()
    if phone.startswith("+"):
        return phone
    if re.fullmatch(r"1\d{10}", phone):
        return f"+86{phone}"
    return f"+{phone}"


def _params(m: Outgoing, order: Sequence[str] = ()) -> dict[str, str]:
    """The variables sent to the gateway, in the template's order (Tencent's are positional: {1}, {2} …)."""
    names = order or sorted(m.params)
    return {k: str(m.params.get(k, "")) for k in names}


class AliyunSmsAdapter(_HttpAdapter):
    """Aliyun SMS (阿里云短信, Dysmsapi 2017-05-25)."""

    provider = "aliyun"
    max_batch = 100
    OPTIONS = (
        Setting(
            "endpoint",
            _("Endpoint"),
            help=URL_SETTING_HELP,
            default="https://dysmsapi.aliyuncs.com/",
            destination="url",
        ),
        Setting("sign_name", _("Signature (签名)"), help=_("The approved signature, without 【】.")),
        Setting("region", _("Region"), required=False, default="cn-hangzhou"),
    )
    SECRETS = (Setting("access_key_id", _("AccessKey ID")), Setting("access_key_secret", _("AccessKey secret")))
    RETRY_CODES: ClassVar[tuple[str, ...]] = ("isv.BUSINESS_LIMIT_CONTROL", "Throttling", "isp.", "SignatureNonceUsed")

    def _call(self, action: str, params: dict[str, str]) -> tuple[Outcome, str, str]:
        """(outcome, BizId, error) of one API call."""
        common = {
            "AccessKeyId": self.secrets["access_key_id"],
            "Action": action,
            "Format": "JSON",
            "RegionId": self.options["region"] or "cn-hangzhou",
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
            **params,
        }
        common["Signature"] = aliyun_signature(common, self.secrets["access_key_secret"], "POST")
        body = "&".join(f"{_percent(k)}={_percent(v)}" for k, v in common.items()).encode()
        try:
            resp = self.http.request(
                "POST",
                self.options["endpoint"],
                body=body,
                headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
                setting="endpoint",
            )
        except HttpTransientError as exc:
            return Outcome.RETRY, "", str(exc)
        try:
            data = resp.json() or {}
        except ValueError:
            return (Outcome.RETRY if resp.transient else Outcome.REJECT), "", f"HTTP {resp.status}, not JSON"
        code = str(data.get("Code", ""))
        if code == "OK":
            return Outcome.SENT, str(data.get("BizId", "")), ""
        error = f"{code}: {data.get('Message', '')}"[:300]
        if resp.transient or any(code.startswith(c) for c in self.RETRY_CODES):
            return Outcome.RETRY, "", error
        return Outcome.REJECT, "", error

    def send(self, batch: Sequence[Outgoing]) -> list[Result]:
        results: list[Result] = []
        groups: dict[str, list[Outgoing]] = defaultdict(list)
        for m in batch:
            if not m.provider_code:
                results.append(Result(m.id, Outcome.REJECT, error=NO_TEMPLATE))
            else:
                groups[m.provider_code].append(m)
        sign = self.options["sign_name"].strip("【】")
        for code, group in groups.items():
            if len(group) == 1:
                m = group[0]
                outcome, biz_id, error = self._call(
                    "SendSms",
                    {
                        "PhoneNumbers": m.to,
                        "SignName": sign,
                        "TemplateCode": code,
                        "TemplateParam": json.dumps(_params(m), ensure_ascii=False),
                        "OutId": m.key[:256],
                    },
                )
            else:
                outcome, biz_id, error = self._call(
                    "SendBatchSms",
                    {
                        "PhoneNumberJson": json.dumps([m.to for m in group]),
                        "SignNameJson": json.dumps([sign] * len(group), ensure_ascii=False),
                        "TemplateCode": code,
                        "TemplateParamJson": json.dumps([_params(m) for m in group], ensure_ascii=False),
                    },
                )
            results.extend(Result(m.id, outcome, provider_id=biz_id, error=error) for m in group)
        return results


class TencentSmsAdapter(_HttpAdapter):
    """Tencent Cloud SMS (腾讯云短信, SendSms 2021-01-11)."""

    provider = "tencent"
    max_batch = 200
    OPTIONS = (
        Setting(
            "endpoint",
            _("Endpoint"),
            help=URL_SETTING_HELP,
            default="https://sms.tencentcloudapi.com/",
            destination="url",
        ),
        Setting("sdk_app_id", _("SmsSdkAppId")),
        Setting("sign_name", _("Signature (签名)"), help=_("The approved signature, without 【】.")),
        Setting("region", _("Region"), required=False, default="ap-guangzhou"),
    )
    SECRETS = (Setting("secret_id", _("SecretId")), Setting("secret_key", _("SecretKey")))
    RETRY_PREFIXES: ClassVar[tuple[str, ...]] = ("LimitExceeded", "InternalError", "RequestLimitExceeded")

    def _call(self, group: list[Outgoing], code: str, values: list[str]) -> list[Result]:
        payload = json.dumps(
            {
                "PhoneNumberSet": [e164_cn(m.to) for m in group],
                "SmsSdkAppId": self.options["sdk_app_id"],
                "SignName": self.options["sign_name"].strip("【】"),
                "TemplateId": code,
                "TemplateParamSet": values,
                "SessionContext": group[0].key if len(group) == 1 else "",
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )
        endpoint = self.options["endpoint"]
        host = urlsplit(endpoint).netloc
        ts = int(time.time())
        headers = {
            "Authorization": tc3_authorization(
                secret_id=self.secrets["secret_id"],
                secret_key=self.secrets["secret_key"],
                service="sms",
                host=host,
                payload=payload,
                timestamp=ts,
            ),
            "Content-Type": "application/json; charset=utf-8",
            "Host": host,
            "X-TC-Action": "SendSms",
            "X-TC-Version": "2021-01-11",
            "X-TC-Timestamp": str(ts),
            "X-TC-Region": self.options["region"] or "ap-guangzhou",
        }
        try:
            resp = self.http.request("POST", endpoint, body=payload.encode(), headers=headers, setting="endpoint")
        except HttpTransientError as exc:
            return retry(group, str(exc))
        try:
            data = (resp.json() or {}).get("Response", {})
        except ValueError:
            error = f"HTTP {resp.status}, not JSON"
            return retry(group, error) if resp.transient else rejected(group, error)
        if "Error" in data:
            err = data["Error"]
            error = f"{err.get('Code', '')}: {err.get('Message', '')}"[:300]
            if resp.transient or str(err.get("Code", "")).startswith(self.RETRY_PREFIXES):
                return retry(group, error)
            return rejected(group, error)
        statuses = {str(s.get("PhoneNumber", "")): s for s in data.get("SendStatusSet", [])}
        results = []
        for m in group:
            status = statuses.get(e164_cn(m.to))
            if status is None:
                results.append(Result(m.id, Outcome.RETRY, error="no status for this number in the answer"))
                continue
            status_code = str(status.get("Code", ""))
            if status_code.lower() == "ok":
                results.append(Result(m.id, Outcome.SENT, provider_id=str(status.get("SerialNo", ""))[:128]))
            else:
                outcome = Outcome.RETRY if status_code.startswith(self.RETRY_PREFIXES) else Outcome.REJECT
                results.append(Result(m.id, outcome, error=f"{status_code}: {status.get('Message', '')}"[:300]))
        return results

    def send(self, batch: Sequence[Outgoing]) -> list[Result]:
        results: list[Result] = []
        # one call per template and set of values; a number appears at most once per call
        groups: dict[tuple[str, tuple[str, ...]], list[list[Outgoing]]] = defaultdict(lambda: [[]])
        for m in batch:
            if not m.provider_code:
                results.append(Result(m.id, Outcome.REJECT, error=NO_TEMPLATE))
                continue
            values = tuple(_params(m, m.param_order).values())
            calls = groups[(m.provider_code, values)]
            if any(o.to == m.to for o in calls[-1]) or len(calls[-1]) >= self.max_batch:
                calls.append([])
            calls[-1].append(m)
        for (code, values), calls in groups.items():
            for group in calls:
                if group:
                    results.extend(self._call(group, code, list(values)))
        return results
