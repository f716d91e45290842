"""Pages of the service desk. For now only what must never be public: attachments, served through a view that
checks the viewer may see tickets (the files live outside every static or media URL)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.http import FileResponse, Http404, HttpRequest

from huitouke.service.models import Attachment

VIEW = "service.view_ticket"
INLINE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf")


@login_required
@permission_required(VIEW, raise_exception=True)
def attachment_download(request: HttpRequest, pk: int) -> FileResponse:
    """The file with the type sniffed at upload; photos and PDFs open in the browser, the rest download."""
    item = Attachment.objects.filter(pk=pk).first()
    if item is None:
        raise Http404("no such attachment")
    try:
        handle = item.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404("the file is missing from the storage") from exc
    response = FileResponse(
        handle, content_type=item.content_type, as_attachment=item.content_type not in INLINE_TYPES, filename=item.name
    )
    response["Cache-Control"] = "private, no-store"
    return response
