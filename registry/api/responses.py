"""Responses for the hottest reads, and for raw bytes."""

from typing import Any

from fastapi import Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from registry.api.errors import ERROR_RESPONSES_BY_REFERENCE


def json_response(model: BaseModel) -> Response:
    """The model serialized once by pydantic. Returning the model itself would have
    FastAPI validate it again before serializing it, which costs as much as the
    database work of a version lookup. Routes using this declare `response_model`."""
    return Response(content=model.model_dump_json(), media_type="application/json")


class OctetStream(StreamingResponse):
    """Raw bytes (blobs, framed batches of blobs), declared as such in the OpenAPI document."""

    media_type = "application/octet-stream"


_BINARY = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
# `openapi_extra` of routes that read their body as raw bytes (`request.stream()`);
# an empty body is an empty blob, or a batch of none.
BINARY_BODY = {"requestBody": {"required": False, "content": _BINARY}}
# `responses` of routes that answer raw bytes.
BINARY_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": _BINARY},
    **ERROR_RESPONSES_BY_REFERENCE,
}
