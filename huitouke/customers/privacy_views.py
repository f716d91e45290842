"""The personal-data requests page of a customer (PIPL): download everything held about them, or erase it.

Owners only (`customers.pipl_customer`); erasure asks for the customer's number to be typed again. Thin: the work
is `customers.pipl`'s."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.customers import pipl
from huitouke.customers.views import _customer

PIPL = "customers.pipl_customer"


@login_required
@permission_required(PIPL, raise_exception=True)
@require_GET
def customer_privacy(request: HttpRequest, pk: int) -> HttpResponse:
    """What the two requests do, with a button for each."""
    return render(request, "customers/customer_privacy.html", {"customer": _customer(pk)})


@login_required
@permission_required(PIPL, raise_exception=True)
@require_POST
def customer_privacy_export(request: HttpRequest, pk: int) -> HttpResponse:
    """The customer's data bundle as a ZIP download (audited by the service)."""
    try:
        bundle = pipl.customer_data_export(customer_id=pk, actor=request.user)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("customers:privacy", pk=pk)
    response = HttpResponse(bundle.content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{bundle.filename}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@permission_required(PIPL, raise_exception=True)
@require_POST
def customer_privacy_erase(request: HttpRequest, pk: int) -> HttpResponse:
    """Erase the customer's personal data once the customer's number was typed to confirm."""
    customer = _customer(pk)
    if request.POST.get("confirm", "").strip().lstrip("#") != str(customer.pk):
        messages.error(request, _("Type the customer's number to confirm the erasure."))
        return redirect("customers:privacy", pk=pk)
    try:
        pipl.customer_erase(customer_id=pk, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("customers:privacy", pk=pk)
    messages.success(request, _("The customer's personal data was erased. Their orders and amounts are kept."))
    return redirect("customers:detail", pk=pk)
