"""Uploaded export files waiting to be imported: stored under HUITOUKE_HOME/uploads/<token>/ with a small JSON
description, so the confirm/mapping step and the background job can find them again."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from huitouke.core.errors import NotFoundError

_TOKEN = re.compile(r"^[0-9a-f]{32}$")
_UNSAFE = re.compile(r"[^\w.\-\u4e00-\u9fff]+")


@dataclass
class PendingUpload:
    token: str
    orders_path: str
    orders_name: str
    items_path: str | None
    items_name: str | None
    fmt: str
    shop: str
    mapping_id: int | None
    keep_levels: bool = False


def _root() -> Path:
    return Path(settings.HUITOUKE_HOME) / "uploads"


def _safe_name(name: str) -> str:
    base = _UNSAFE.sub("_", Path(name).name)[:120].strip("._")
    return base or "upload"


def upload_store(
    *,
    orders_file: UploadedFile,
    items_file: UploadedFile | None,
    fmt: str,
    shop: str,
    mapping_id: int | None,
    keep_levels: bool = False,
) -> PendingUpload:
    """Write the uploaded file(s) to disk (streamed in chunks) and describe them; returns the pending upload."""
    token = uuid.uuid4().hex
    folder = _root() / token
    folder.mkdir(parents=True)

    def save(f: UploadedFile, prefix: str) -> tuple[str, str]:
        name = f.name or prefix
        path = folder / f"{prefix}-{_safe_name(name)}"
        with path.open("wb") as out:
            for chunk in f.chunks():
                out.write(chunk)
        return str(path), name

    orders_path, orders_name = save(orders_file, "orders")
    items_path, items_name = save(items_file, "items") if items_file else (None, None)
    pending = PendingUpload(token, orders_path, orders_name, items_path, items_name, fmt, shop, mapping_id, keep_levels)
    (folder / "upload.json").write_text(json.dumps(asdict(pending), ensure_ascii=False), encoding="utf-8")
    return pending


def upload_get(*, token: str) -> PendingUpload:
    """The pending upload with this token. Raises NotFoundError for an unknown or malformed token."""
    if not _TOKEN.match(token or ""):
        raise NotFoundError("unknown upload", field="token")
    meta = _root() / token / "upload.json"
    if not meta.is_file():
        raise NotFoundError("unknown upload", field="token")
    return PendingUpload(**json.loads(meta.read_text(encoding="utf-8")))


def report_path_checked(path: str) -> Path:
    """An error report path from a job result, accepted only inside HUITOUKE_HOME/reports."""
    reports = (Path(settings.HUITOUKE_HOME) / "reports").resolve()
    candidate = Path(path).resolve()
    if reports not in candidate.parents or not candidate.is_file():
        raise NotFoundError("no error report", field="report")
    return candidate
