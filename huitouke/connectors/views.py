"""Pages of the live order feed: the sources (health, store connections, webhook URLs, backfill) and the
webhook endpoints the stores call."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.request import RawPostDataException
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from huitouke.connectors.forms import StoreForm
from huitouke.connectors.health import source_health_list
from huitouke.connectors.models import Source
from huitouke.connectors.services import store_connect
from huitouke.connectors.tasks import SYNC_JOB_KIND
from huitouke.connectors.webhooks import webhook_receive
from huitouke.core.errors import ApplicationError
from huitouke.core.services import job_submit

PERMISSION = "orders.change_order"


def _webhook(request: HttpRequest, kind: str, key: str) -> HttpResponse:
    if request.method != "POST":
        return JsonResponse({"status": "POST only"}, status=405)
    try:
        body = request.body
    except RequestDataTooBig:
        return JsonResponse({"status": "body too large"}, status=413)
    except RawPostDataException:  # a multipart form body was already parsed: not a shop's webhook
        return JsonResponse({"status": "unsupported body"}, status=415)
    receipt = webhook_receive(kind=kind, key=key, body=body, headers=request.headers)
    return JsonResponse({"status": receipt.message}, status=receipt.status)


@csrf_exempt
def shopify_webhook(request: HttpRequest, key: str) -> HttpResponse:
    """Shopify's webhooks (orders/*, refunds/create): signed, stored, acknowledged; the worker writes them."""
    return _webhook(request, Source.Kind.SHOPIFY, key)


@csrf_exempt
def woocommerce_webhook(request: HttpRequest, key: str) -> HttpResponse:
    """WooCommerce's webhooks (order.created, order.updated): as Shopify's."""
    return _webhook(request, Source.Kind.WOOCOMMERCE, key)


@login_required
@permission_required(PERMISSION, raise_exception=True)
def source_list(request: HttpRequest) -> HttpResponse:
    """Every live source with its health, the store connection forms and each store's webhook address."""
    rows = source_health_list()
    for row in rows:
        kind = row.source.kind
        if kind in (Source.Kind.SHOPIFY, Source.Kind.WOOCOMMERCE):
            name = "connectors:shopify-webhook" if kind == Source.Kind.SHOPIFY else "connectors:woocommerce-webhook"
            row.source.webhook_url = request.build_absolute_uri(reverse(name, args=[row.source.key]))  # type: ignore[attr-defined]  # shown on the page only
    context = {
        "rows": rows,
        "shopify_form": StoreForm(prefix="shopify"),
        "woocommerce_form": StoreForm(prefix="woocommerce"),
        "back": reverse("orders:import"),
    }
    return render(request, "connectors/source_list.html", context)


@login_required
@permission_required(PERMISSION, raise_exception=True)
@require_POST
def store_save(request: HttpRequest, kind: str) -> HttpResponse:
    """Connect a shop's Shopify or WooCommerce store (or change its address, secrets, silence alert)."""
    if kind not in (Source.Kind.SHOPIFY, Source.Kind.WOOCOMMERCE):
        return redirect("connectors:list")
    form = StoreForm(request.POST, prefix=kind)
    if form.is_valid():
        data = form.cleaned_data
        try:
            store_connect(
                shop=data["shop"],
                kind=kind,
                address=data["address"],
                secrets_given={k: data.get(k) or "" for k in ("access_token", "consumer_key", "consumer_secret",
                                                                "webhook_secret")},
                silence_minutes=data.get("silence_minutes") or 0,
                alert_email=data.get("alert_email") or "",
                alert_robot_url=data.get("alert_robot_url") or "",
                actor=request.user,
            )  # fmt: skip
        except ApplicationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("The store is connected. Copy its webhook address into the store."))
            return redirect("connectors:list")
    rows = source_health_list()
    context = {
        "rows": rows,
        "shopify_form": form if kind == Source.Kind.SHOPIFY else StoreForm(prefix="shopify"),
        "woocommerce_form": form if kind == Source.Kind.WOOCOMMERCE else StoreForm(prefix="woocommerce"),
        "back": reverse("orders:import"),
    }
    return render(request, "connectors/source_list.html", context, status=422)


@login_required
@permission_required(PERMISSION, raise_exception=True)
@require_POST
def source_sync(request: HttpRequest, pk: int) -> HttpResponse:
    """The "Backfill now" button: the store's orders read through its API in the background."""
    source = get_object_or_404(Source, pk=pk, kind__in=(Source.Kind.SHOPIFY, Source.Kind.WOOCOMMERCE))
    job = job_submit(kind=SYNC_JOB_KIND, params={"source_id": source.pk}, created_by=request.user)
    messages.success(request, _("The backfill runs in the background (job %(id)s).") % {"id": job.pk})
    return redirect("connectors:list")
