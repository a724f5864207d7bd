"""Reading an upload into named model sources: a JSON body (one Interface or an array),
multipart files, or a zip archive. Limits guard against hostile archives."""

from __future__ import annotations

import io
import zipfile

from starlette.datastructures import UploadFile
from starlette.requests import Request

from twin_server.api.models.errors import PayloadTooLarge, UnsupportedMediaType
from twin_server.errors import InvalidRequest

MAX_ARCHIVE_FILES = 100_000


async def read_upload(request: Request, *, max_bytes: int) -> list[tuple[str, str]]:
    media = request.headers.get("content-type", "application/json").split(";", 1)[0].strip()
    if media in ("application/json", "application/ld+json"):
        return [("upload", _text(await _body(request, max_bytes), "upload"))]
    if media == "multipart/form-data":
        return await _multipart(request, max_bytes)
    if media in ("application/zip", "application/x-zip-compressed"):
        return _archive(await _body(request, max_bytes), max_bytes)
    raise UnsupportedMediaType(
        f"cannot read models sent as {media}; send application/json (an Interface or an array "
        "of them), multipart/form-data (files) or application/zip"
    )


async def _body(request: Request, max_bytes: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"the upload is {declared} bytes; at most {max_bytes} are accepted")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"the upload exceeds {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _text(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidRequest(f"{name} is not UTF-8 text ({exc.reason})") from exc


async def _multipart(request: Request, max_bytes: int) -> list[tuple[str, str]]:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"the upload is {declared} bytes; at most {max_bytes} are accepted")
    form = await request.form(max_files=MAX_ARCHIVE_FILES, max_fields=1000)
    sources: list[tuple[str, str]] = []
    try:
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                name = value.filename or key
                sources.append((name, _text(await value.read(), name)))
            else:
                sources.append((key, value))
    finally:
        await form.close()
    if not sources:
        raise InvalidRequest("the multipart upload holds no files")
    return sources


def _archive(data: bytes, max_bytes: int) -> list[tuple[str, str]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise InvalidRequest(f"the upload is not a valid zip archive: {exc}") from exc
    members = [m for m in archive.infolist() if not m.is_dir() and m.filename.endswith(".json")]
    if len(members) > MAX_ARCHIVE_FILES:
        raise PayloadTooLarge(
            f"the archive holds {len(members)} files; at most {MAX_ARCHIVE_FILES}"
        )
    total = sum(m.file_size for m in members)
    limit = max_bytes * 10
    if total > limit:
        raise PayloadTooLarge(f"the archive expands to {total} bytes; at most {limit} are accepted")
    sources: list[tuple[str, str]] = []
    for member in members:
        with archive.open(member) as handle:
            content = handle.read(member.file_size + 1)
        if len(content) > member.file_size:
            raise InvalidRequest(f"{member.filename}: the archive misstates its size")
        sources.append((member.filename, _text(content, member.filename)))
    if not sources:
        raise InvalidRequest("the archive holds no .json files")
    return sources
