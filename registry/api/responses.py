"""Responses for the hottest reads."""

from fastapi import Response
from pydantic import BaseModel


def json_response(model: BaseModel) -> Response:
    """The model serialized once by pydantic. Returning the model itself would have
    FastAPI validate it again before serializing it, which costs as much as the
    database work of a version lookup. Routes using this declare `response_model`."""
    return Response(content=model.model_dump_json(), media_type="application/json")
