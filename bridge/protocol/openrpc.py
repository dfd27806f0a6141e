"""OpenRPC generation, pure: the ``rpc.discover`` document, built from the method table and models.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, TypeAdapter

from bridge.errors import ERROR_CODES, ClaimbridgeError
from bridge.protocol.methods import METHODS
from bridge.protocol.results import NOTIFICATIONS

__all__ = [
    "openrpc_document",
]

# --------------------------------------------------------------------------- OpenRPC

_REF = "#/components/schemas/{model}"
_OPENRPC_META = "https://raw.githubusercontent.com/open-rpc/meta-schema/master/schema.json"


def _schema(tp: Any, mode: Literal["validation", "serialization"], defs: dict[str, Any]) -> Any:
    schema = TypeAdapter(tp).json_schema(ref_template=_REF, mode=mode)
    defs.update(schema.pop("$defs", {}))
    if mode == "serialization" and isinstance(tp, type) and issubclass(tp, BaseModel):
        # Results and notifications are named components, so docs can link to them.
        defs[tp.__name__] = schema
        return {"$ref": _REF.format(model=tp.__name__)}
    return schema


def _error_object(cls: type[ClaimbridgeError]) -> dict[str, Any]:
    return {"code": ERROR_CODES[cls], "message": cls.message}


def openrpc_document(version: str) -> dict[str, Any]:
    """The OpenRPC 1.2.6 document of the protocol, generated from the models.

    ``rpc.discover`` itself is left out of ``methods`` (``rpc.`` names are reserved for the
    discovery extension); notifications are listed under ``x-notifications``.

    Args:
        version: The daemon's version, for ``info.version``.
    """
    defs: dict[str, Any] = {}
    methods: list[dict[str, Any]] = []
    for name, spec in METHODS.items():
        if name.startswith("rpc."):
            continue
        params: list[dict[str, Any]] = []
        if spec.params is not None:
            model_schema = _schema(spec.params, "validation", defs)
            required = set(model_schema.get("required", ()))
            for pname, pschema in model_schema.get("properties", {}).items():
                params.append({"name": pname, "required": pname in required, "schema": pschema})
        seen: set[int] = set()
        errors = []
        for cls in spec.errors:
            obj = _error_object(cls)
            if obj["code"] not in seen:
                seen.add(obj["code"])
                errors.append(obj)
        methods.append(
            {
                "name": name,
                "summary": spec.summary,
                "paramStructure": "by-name",
                "params": params,
                "result": {"name": "result", "schema": _schema(spec.result, "serialization", defs)},
                "errors": errors,
            }
        )
    notifications = [
        {"name": name, "params": _schema(model, "serialization", defs)}
        for name, model in NOTIFICATIONS.items()
    ]
    return {
        "openrpc": "1.2.6",
        "info": {
            "title": "claimbridge",
            "version": version,
            "description": "HealthPoint claims, cancels and gap payments through Tyro iClient; "
            "Healthcode bills. JSON-RPC 2.0 over ws://HOST:8765/v1.",
        },
        "methods": methods,
        "components": {"schemas": dict(sorted(defs.items()))},
        "x-notifications": notifications,
        "x-discover": {"name": "rpc.discover", "result": {"$ref": _OPENRPC_META}},
    }
