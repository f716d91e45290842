"""Customer archive pages."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from huitouke.customers.selectors import CustomerFilter, customer_list_rows
from huitouke.customers.selectors import customer_list as customer_list_selector


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def customer_list(request: HttpRequest) -> HttpResponse:
    filters = CustomerFilter.from_params(request.GET)
    rows = customer_list_rows(customer_list_selector(filters=filters))[:50]
    return render(request, "customers/customer_list.html", {"customers": rows})
