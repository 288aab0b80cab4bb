"""The OpenAPI 3.1 document of the worker's HTTP API, generated from the response models (the
same ones the routes answer with), checked in as schemas/openapi.json."""

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from schemas import AlertReview
from schemas.inputs import CITY_MAX_LEN, ID_MAX_LEN
from streams.config.settings import ServingSettings
from streams.serving.views import (
    ApiError,
    FirstAiders,
    Leaderboard,
    Privileges,
    ReviewAccepted,
    RiderView,
)

PATH = Path(__file__).resolve().parents[2] / "schemas" / "openapi.json"
_REF = "#/components/schemas/{model}"
_MODELS: list[type[BaseModel]] = [ApiError, FirstAiders, Leaderboard, Privileges, ReviewAccepted,
                                  RiderView]


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}


def _answer(model: type[BaseModel], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(model)}}}


def _errors(*codes: int) -> dict[str, Any]:
    said = {400: "A parameter is missing or wrong: `parameter` names it, `error` says why.",
            401: "No bearer token, or a wrong one (only when a token is configured).",
            404: "Nothing is served of this rider.",
            413: "The body is too large.",
            503: "The review could not be written now."}
    return {str(code): _answer(ApiError, said[code]) for code in codes}


def _query(name: str, schema: dict[str, Any], description: str,
           required: bool = True) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema,
            "description": description}


def document(serving: ServingSettings | None = None) -> dict[str, Any]:
    s = serving or ServingSettings()
    _, schemas = models_json_schema([(m, "serialization") for m in _MODELS],
                                    ref_template=_REF)
    components = dict(schemas["$defs"])
    review = AlertReview.model_json_schema(ref_template=_REF)
    components.update(review.pop("$defs", {}))
    components["AlertReview"] = review
    rider = {"name": "rider_id", "in": "path", "required": True,
             "schema": {"type": "string", "minLength": 1, "maxLength": ID_MAX_LEN}}
    limit = {"type": "integer", "minimum": 1, "maximum": s.max_limit, "default": 10}
    bearer = [{"bearer": []}]
    return {
        "openapi": "3.1.0",
        "info": {"title": "Knightwatch rider API", "version": "1",
                 "description": "Served by every Knightwatch worker from the Redis serving "
                 "layer. With KNIGHTWATCH_API_TOKEN set, every route but /healthz, /readyz, "
                 "/metrics and /openapi.json asks for it as a bearer token; without it, "
                 "/first-aiders/nearby and POST /reviews are not served."},
        "components": {"schemas": components,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": {
            "/riders/{rider_id}": {"get": {
                "summary": "A rider's score, tier, privileges, points and latest alerts.",
                "security": bearer, "parameters": [rider],
                "responses": {"200": _answer(RiderView, "The rider."),
                              **_errors(400, 401, 404)}}},
            "/riders/{rider_id}/privileges": {"get": {
                "summary": "May this rider take this order? What the rider's tier allows.",
                "security": bearer, "parameters": [rider],
                "responses": {"200": _answer(Privileges, "The tier's privileges."),
                              **_errors(400, 401, 404)}}},
            "/leaderboard": {"get": {
                "summary": "A city's role-model leaderboard, best first.",
                "security": bearer,
                "parameters": [
                    _query("city", {"type": "string", "minLength": 1,
                                    "maxLength": CITY_MAX_LEN}, "The city."),
                    _query("limit", limit, "How many riders.", required=False)],
                "responses": {"200": _answer(Leaderboard, "The leaderboard."),
                              **_errors(400, 401)}}},
            "/first-aiders/nearby": {"get": {
                "summary": "First-aid-certified riders near a point, nearest first, who carry "
                           "no order and whose certificate and position are current.",
                "security": bearer,
                "parameters": [
                    _query("lat", {"type": "number", "minimum": -85.05112878,
                                   "maximum": 85.05112878}, "WGS 84 latitude."),
                    _query("lon", {"type": "number", "minimum": -180, "maximum": 180},
                           "WGS 84 longitude."),
                    _query("radius_m", {"type": "number", "minimum": 1,
                                        "maximum": s.max_radius_m}, "Search radius, metres."),
                    _query("limit", limit, "How many riders.", required=False)],
                "responses": {"200": _answer(FirstAiders, "The riders found."),
                              **_errors(400, 401)}}},
            "/reviews": {"post": {
                "summary": "A reviewer's verdict on an alert, written to rider-alert-reviews "
                           "(key rider_id); a dismissal gives back what the alert took.",
                "security": bearer,
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": _ref(AlertReview)}}},
                "responses": {"202": _answer(ReviewAccepted, "Written to the reviews topic."),
                              **_errors(400, 401, 413, 503)}}},
            "/healthz": {"get": {"summary": "The process runs.",
                                 "responses": {"200": {"description": "Running."}}}},
            "/readyz": {"get": {"summary": "Broker and Redis answer, partitions held.",
                                "responses": {"200": {"description": "Ready."},
                                              "503": {"description": "Not ready."}}}},
            "/metrics": {"get": {"summary": "Prometheus metrics.",
                                 "responses": {"200": {"description": "Text exposition."}}}},
            "/openapi.json": {"get": {"summary": "This document.",
                                      "responses": {"200": {"description": "OpenAPI 3.1."}}}},
        },
    }


def render(serving: ServingSettings | None = None) -> str:
    return json.dumps(document(serving), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
