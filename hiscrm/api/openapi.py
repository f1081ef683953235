"""/openapi.json, generated from the same declarations and msgspec types the routes decode with."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from hiscrm import __version__
from hiscrm.api.routing import Endpoint

_PATH_PARAM = re.compile(r"{([^}:]+)(?::[^}]+)?}")


def _envelope(family: str, data: dict[str, Any], cursor_beside: bool = False) -> dict[str, Any]:
    if family == "v1":
        return {
            "type": "object",
            "required": ["success", "data"],
            "properties": {"success": {"type": "boolean", "const": True}, "data": data},
        }
    if family == "im":
        envelope: dict[str, Any] = {
            "type": "object",
            "required": ["data", "status_code"],
            "properties": {"data": data, "status_code": {"type": "integer"}},
        }
        if cursor_beside:
            envelope["required"] += ["cursor", "has_more"]
            envelope["properties"] |= {"cursor": {"type": "integer"}, "has_more": {"type": "boolean"}}
        return envelope
    return data


def _struct_classes(types: list[Any]) -> list[type]:
    """Every Struct class the types use, nested ones included."""
    found: dict[type, None] = {}
    pending: list[msgspec.inspect.Type] = list(msgspec.inspect.multi_type_info(types))
    while pending:
        info = pending.pop()
        if isinstance(info, msgspec.inspect.StructType):
            if info.cls in found:
                continue
            found[info.cls] = None
            pending.extend(f.type for f in info.fields)
        else:
            for attr in ("item_type", "key_type", "value_type", "type"):
                inner = getattr(info, attr, None)
                if isinstance(inner, msgspec.inspect.Type):
                    pending.append(inner)
            pending.extend(getattr(info, "types", ()) or ())
            pending.extend(getattr(info, "item_types", ()) or ())
    return list(found)


def _refuse_name_clashes(types: list[Any]) -> None:
    # Components are named by class name: two classes of one name would silently share one schema.
    by_name: dict[str, type] = {}
    for cls in _struct_classes(types):
        other = by_name.setdefault(cls.__name__, cls)
        if other is not cls:
            raise TypeError(
                f"two API types are named {cls.__name__}: {other.__module__} and {cls.__module__}; rename one"
            )


def _error(family: str) -> dict[str, Any]:
    if family == "im":
        return {
            "type": "object",
            "required": ["data", "status_code", "status_msg"],
            "properties": {
                "data": {"type": "null"},
                "status_code": {"type": "integer"},
                "status_msg": {"type": "string"},
            },
        }
    return {
        "type": "object",
        "required": ["success", "error"],
        "properties": {
            "success": {"type": "boolean", "const": False},
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    }


def document(endpoints: list[Endpoint]) -> dict[str, Any]:
    types: list[Any] = []
    for e in endpoints:
        types.extend(t for t in (e.query, e.body, e.response) if t is not None)
    _refuse_name_clashes(types)
    schemas, components = msgspec.json.schema_components(types, ref_template="#/components/schemas/{name}")
    by_type = dict(zip(types, schemas, strict=True))
    paths: dict[str, dict[str, Any]] = {}
    for e in endpoints:
        path = _PATH_PARAM.sub(lambda m: "{" + m.group(1) + "}", e.path)
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in _PATH_PARAM.findall(e.path)
        ]
        if e.query is not None:
            info = msgspec.structs.fields(e.query)
            query_schema = components.get(e.query.__name__, {}).get("properties", {})
            for f in info:
                params.append(
                    {
                        "name": f.encode_name,
                        "in": "query",
                        "required": f.required,
                        "schema": query_schema.get(f.encode_name, {}),
                    }
                )
        data_schema = by_type[e.response] if e.response is not None else {}
        answer = (
            {"application/json": {"schema": _envelope(e.family, data_schema, e.cursor_beside)}}
            if e.media_type == "application/json"
            else {e.media_type: {"schema": {"type": "string"}}}
        )
        op: dict[str, Any] = {
            "summary": e.summary,
            "tags": list(e.tags),
            "parameters": params,
            "responses": {
                str(e.status): {"description": "success", "content": answer},
                "default": {"description": "error", "content": {"application/json": {"schema": _error(e.family)}}},
            },
        }
        if e.body is not None:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": by_type[e.body]}}}
        if e.roles is not None:
            op["security"] = [{"bearer": []}]
        paths.setdefault(path, {})[e.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "HisCRM", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
