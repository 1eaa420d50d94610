"""The request body, read within its size limit and gunzipped within the same limit."""

from __future__ import annotations

import zlib

from aiohttp import web

from pipeline.intake.rejection import Rejected, bad_request

CHUNK_BYTES = 64 * 1024


def too_large(limit: int, what: str) -> Rejected:
    return Rejected(
        413, f"{what} is over {limit} bytes (LOGWEIR_INTAKE_MAX_BODY_BYTES): send smaller requests"
    )


async def read(request: web.Request, limit: int) -> bytes:
    """The body as sent (at most `limit` bytes), then decompressed (at most `limit` bytes)."""
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip", "x-gzip"):
        raise Rejected(415, f"Content-Encoding {encoding!r} is not supported: send gzip or none")
    if request.content_length is not None and request.content_length > limit:
        raise too_large(limit, "the request body")
    chunks, size = [], 0
    async for chunk in request.content.iter_chunked(CHUNK_BYTES):
        size += len(chunk)
        if size > limit:  # a body without Content-Length, or a client that lied about it
            raise too_large(limit, "the request body")
        chunks.append(chunk)
    raw = b"".join(chunks)
    return gunzip(raw, limit) if encoding != "identity" else raw


def gunzip(data: bytes, limit: int) -> bytes:
    """Decompress gzip (one member or several), never producing more than `limit` bytes: a
    small bomb that inflates to gigabytes is refused after `limit + 1` of them."""
    out: list[bytes] = []
    size = 0
    while data:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            part = inflater.decompress(data, limit + 1 - size)
        except zlib.error as exc:
            raise bad_request(f"the body is not valid gzip ({exc})") from None
        size += len(part)
        if size > limit or inflater.unconsumed_tail:
            raise too_large(limit, "the decompressed body")
        if not inflater.eof:
            raise bad_request("the gzip body is cut short: send the whole stream")
        out.append(part)
        data = inflater.unused_data
    return b"".join(out)
