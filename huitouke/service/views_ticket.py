"""The actions of the ticket page: take, reply or note, transfer, status, tick a step, compensation (add and
approve) and attachments (upload; download only through the checked view).

Each reads its form, calls one service and goes back to the ticket with a message; bad input renders the ticket
page again (400) with the message next to the form it came from."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from huitouke.core.errors import ApplicationError, NotFoundError, PermissionDeniedError
from huitouke.orders.models import OrderLine
from huitouke.service import display, forms, services
from huitouke.service.models import Attachment, Compensation, TicketStatus
from huitouke.service.replies.variables import placeholders_left
from huitouke.service.services.attachments import max_bytes
from huitouke.service.views import APPROVE, CHANGE, VIEW, detail_context, ticket_or_404

DETAIL = "service/ticket_detail.html"
INLINE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf")


def _again(request: HttpRequest, pk: int, **extra: object) -> HttpResponse:
    """The ticket page once more, with the bound form (and its errors) the action came from."""
    return render(request, DETAIL, detail_context(request, ticket_or_404(pk), **extra), status=400)


def _form_errors(form: forms.forms.Form) -> str:
    return " ".join(
        f"{form.fields[n].label if n in form.fields else ''}: {m}".lstrip(": ")
        for n, errs in form.errors.items()
        for m in errs
    )


@login_required
@permission_required(CHANGE, raise_exception=True)
@require_POST
def take(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = ticket_or_404(pk)
    try:
        services.ticket_take(ticket=ticket, user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("You took ticket #%(number)s.") % {"number": ticket.number})
    return redirect("service:ticket", pk=pk)


@login_required
@permission_required(CHANGE, raise_exception=True)
@require_POST
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change the subject, type, priority, channel, tags or description. A new type, priority or channel picks the
    SLA policy again; a new type adds its checklist's missing steps."""
    ticket = ticket_or_404(pk)
    form = forms.TicketEditForm(request.POST)
    if not form.is_valid():
        return _again(request, pk, edit_form=form, edit_error=_form_errors(form))
    d = form.cleaned_data
    try:
        services.ticket_update(
            ticket=ticket,
            actor=request.user,
            subject=d["subject"],
            type=d["type"],
            priority=d["priority"],
            channel=d["channel"],
            description=d["description"],
            tags=form.tag_list(),
        )
    except ApplicationError as exc:
        return _again(request, pk, edit_form=form, edit_error=exc.message)
    messages.success(request, _("Ticket #%(number)s was saved.") % {"number": ticket.number})
    return redirect("service:ticket", pk=pk)


@login_required
@permission_required(CHANGE, raise_exception=True)
@require_POST
def reply(request: HttpRequest, pk: int) -> HttpResponse:
    """A reply to the customer (SMS, email, or a manual task whose text the agent sends by hand), an internal note
    (the "note" button), or what the customer said on the phone or in Qianniu (the "customer" button: a waiting
    ticket opens again and the next-response clock starts)."""
    ticket = ticket_or_404(pk)
    form = forms.ReplyForm(request.POST)
    internal = request.POST.get("as") == "note"
    if not form.is_valid():
        return _again(request, pk, reply_form=form, reply_error=_form_errors(form))
    if request.POST.get("as") == "customer":
        try:
            services.ticket_customer_message(ticket=ticket, body=form.cleaned_data["body"], channel=ticket.channel)
        except ApplicationError as exc:
            return _again(request, pk, reply_form=form, reply_error=exc.message)
        messages.success(request, _("What the customer said was recorded; the reply clock runs again."))
        return redirect(reverse("service:ticket", args=[pk]) + "#replies")
    left = () if internal else placeholders_left(form.cleaned_data["body"])
    if left:  # a canned reply whose variable was never filled: nothing blank goes to the customer
        error = _("Fill in {%(variable)s} before sending (or pick another reply).") % {"variable": left[0]}
        return _again(request, pk, reply_form=form, reply_error=error)
    try:
        item = services.ticket_reply(
            ticket=ticket,
            author=request.user,
            body=form.cleaned_data["body"],
            internal=internal,
            channel=None if internal else (form.cleaned_data["channel"] or None),
        )
    except ApplicationError as exc:
        return _again(request, pk, reply_form=form, reply_error=exc.message)
    if internal:
        messages.success(request, _("The note was added (it is not sent to the customer)."))
    elif item.channel == "manual":
        messages.success(
            request, _("The reply is a manual task: copy its text below and send it in Qianniu/Wangwang or by phone.")
        )
    else:
        messages.success(
            request, _("The reply goes out by %(channel)s.") % {"channel": display.reply_channel_label(item.channel)}
        )
    return redirect(reverse("service:ticket", args=[pk]) + "#replies")


@login_required
@permission_required(CHANGE, raise_exception=True)
@require_POST
def transfer(request: HttpRequest, pk: int) -> HttpResponse:
    """Hand the ticket to a colleague with a note; the first owner stays accountable."""
    ticket = ticket_or_404(pk)
    form = forms.TransferForm(request.POST)
    if not form.is_valid():
        return _again(request, pk, transfer_form=form, transfer_error=_form_errors(form))
    try:
        done = services.ticket_transfer(
            ticket=ticket, to=form.cleaned_data["to"], note=form.cleaned_data["note"], actor=request.user
        )
    except ApplicationError as exc:
        return _again(request, pk, transfer_form=form, transfer_error=exc.message)
    messages.success(
        request,
        _("Ticket #%(number)s was handed to %(user)s.") % {"number": done.number, "user": form.cleaned_data["to"]},
    )
    return redirect("service:ticket", pk=pk)


@login_required
@permission_required(CHANGE, raise_exception=True)
@require_POST
def status(request: HttpRequest, pk: int) -> HttpResponse:
    """Move the ticket on (waiting, resolve, close, reopen). Resolving while a required step is open needs a
    note saying why; the page names the open steps."""
    ticket = ticket_or_404(pk)
    form = forms.StatusForm(request.POST)
    if not form.is_valid():
        return _again(request, pk, status_form=form, status_error=_form_errors(form))
    new, note = form.cleaned_data["status"], form.cleaned_data["note"].strip()
    finishing = new in (TicketStatus.RESOLVED, TicketStatus.CLOSED) and ticket.resolved_at is None
    missing = [s for s in ticket.steps.all() if s.required and s.done_at is None]
    if finishing and missing and not note:
        text = _(
            "These required steps are still open: %(steps)s. Tick them, or write in the note why the ticket is "
            "finished anyway."
        ) % {"steps": "、".join(_(s.label) for s in missing)}
        return _again(request, pk, status_form=form, status_error=text)
    try:
        services.ticket_status_set(ticket=ticket, status=new, actor=request.user, note=note)
    except ApplicationError as exc:
        return _again(request, pk, status_form=form, status_error=exc.message)
    messages.success(
        request,
        _("Ticket #%(number)s is now: %(status)s.")
        % {"number": ticket.number, "status": display.label(TicketStatus, new)},
    )
    return redirect("service:ticket", pk=pk)


@login_required
@permission_required(CHANGE, raise_exception=True)
@require_POST
def step(request: HttpRequest, pk: int, key: str) -> HttpResponse:
    ticket = ticket_or_404(pk)
    try:
        done = services.ticket_step_tick(ticket=ticket, key=key, actor=request.user)
    except NotFoundError:
        raise Http404(_("This ticket has no such step.")) from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Step done: %(step)s.") % {"step": _(done.label)})
    return redirect(reverse("service:ticket", args=[pk]) + "#checklist")


@login_required
@permission_required(CHANGE, raise_exception=True)
@require_POST
def compensation_add(request: HttpRequest, pk: int) -> HttpResponse:
    """An entry of the compensation ledger; above the agent's limit it waits for a manager."""
    ticket = ticket_or_404(pk)
    form = forms.CompensationForm(request.POST)
    if not form.is_valid():
        return _again(request, pk, compensation_form=form, compensation_error=_form_errors(form))
    data = form.cleaned_data
    line = None
    if data["order_line"]:
        line = OrderLine.objects.filter(pk=data["order_line"], order__tickets=ticket).first()
        if line is None:
            text = _("Pick a line of the ticket's order.")
            return _again(request, pk, compensation_form=form, compensation_error=text)
    try:
        entry = services.compensation_add(
            ticket=ticket,
            kind=data["kind"],
            amount=data["amount"],
            cost=data["cost"],
            note=data["note"],
            order_line=line,
            actor=request.user,
        )
    except ApplicationError as exc:
        return _again(request, pk, compensation_form=form, compensation_error=exc.message)
    if entry.status == Compensation.Status.PENDING_APPROVAL:
        messages.warning(request, _("The compensation is above your limit: it waits for a manager's approval."))
    else:
        messages.success(request, _("The compensation was recorded."))
    return redirect(reverse("service:ticket", args=[pk]) + "#compensation")


@login_required
@permission_required(APPROVE, raise_exception=True)
@require_POST
def compensation_approve(request: HttpRequest, pk: int, entry: int) -> HttpResponse:
    ticket_or_404(pk)
    if not Compensation.objects.filter(pk=entry, ticket_id=pk).exists():
        raise Http404(_("This ticket has no such compensation entry."))
    try:
        services.compensation_approve(compensation_id=entry, actor=request.user)
    except PermissionDeniedError:
        return HttpResponse(status=403)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The compensation was approved."))
    return redirect("service:ticket", pk=pk)


@login_required
@permission_required(CHANGE, raise_exception=True)
@require_POST
def attachment_upload(request: HttpRequest, pk: int) -> HttpResponse:
    """A photo or file: the service checks the size and reads the kind from the content."""
    ticket = ticket_or_404(pk)
    upload = request.FILES.get("file")
    if upload is None:
        return _again(request, pk, attachment_error=_("Choose a file to upload."))
    limit = max_bytes()
    if upload.size is not None and upload.size > limit:
        text = _("The file is larger than %(mb)s MB.") % {"mb": limit // (1024 * 1024)}
        return _again(request, pk, attachment_error=text)
    content = upload.read(limit + 1)
    try:
        item = services.attachment_add(ticket=ticket, name=upload.name or "", content=content, actor=request.user)
    except ApplicationError as exc:
        return _again(request, pk, attachment_error=exc.message)
    messages.success(request, _("%(name)s was attached.") % {"name": item.name})
    return redirect(reverse("service:ticket", args=[pk]) + "#attachments")


@login_required
@permission_required(VIEW, raise_exception=True)
@require_GET
def attachment_download(request: HttpRequest, pk: int) -> FileResponse:
    """The file, to someone who may see tickets, with the type read from its content at upload: photos and PDFs
    open in the browser (sandboxed, never sniffed), anything else downloads."""
    found = Attachment.objects.filter(pk=pk).first()
    if found is None:
        raise Http404(_("There is no such attachment."))
    try:
        handle = found.file.open("rb")
    except FileNotFoundError:
        raise Http404(_("The file is missing from the storage.")) from None
    inline = found.content_type in INLINE_TYPES
    response = FileResponse(handle, as_attachment=not inline, filename=found.name, content_type=found.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
