"""OpenRPC generation, pure: the ``rpc.discover`` document, built from the method table and models.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Literal

from pydantic import BaseModel, TypeAdapter

from bridge.errors import ERROR_CODES, ClaimbridgeError
from bridge.reasons import NOT_ALLOWED_REASONS, UNAVAILABLE_REASONS
from bridge.healthcode.bills import Bill
from bridge.protocol.methods import METHODS
from bridge.protocol.results import JOB_RESULTS, NOTIFICATIONS

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


#: Params the daemon takes as raw JSON (so that every problem of a bill is reported at once,
#: not only the first pydantic finds) but whose shape is known: documented by their model.
_PARAM_MODELS: dict[str, type[BaseModel]] = {"bill": Bill}


def _param_schema(name: str, schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    model = _PARAM_MODELS.get(name)
    if model is None:
        return schema
    documented = TypeAdapter(model).json_schema(ref_template=_REF, mode="validation", by_alias=True)
    defs.update(documented.pop("$defs", {}))
    defs[model.__name__] = documented
    return {"$ref": _REF.format(model=model.__name__), **({"description": schema["description"]}
                                                          if "description" in schema else {})}


#: Job kind -> the method whose params a job of that kind keeps as its ``request``.
_REQUEST_METHOD = {
    "claim": "healthpoint.claim",
    "rebateEstimate": "healthpoint.rebateEstimate",
    "cancel": "healthpoint.cancel",
    "gap": "payment.gap",
    "refund": "payment.refund",
    "healthcodeBill": "healthcode.submit",
}


def _request_schema(kind: str, defs: dict[str, Any]) -> dict[str, Any] | None:
    spec = METHODS.get(_REQUEST_METHOD.get(kind, ""))
    if spec is None or spec.params is None:
        return None
    name = spec.params.__name__
    if name not in defs:
        schema = TypeAdapter(spec.params).json_schema(ref_template=_REF, mode="validation")
        defs.update(schema.pop("$defs", {}))
        for pname, pschema in schema.get("properties", {}).items():
            schema["properties"][pname] = _param_schema(pname, pschema, defs)
        # The journal keeps the params as validated; a bill's job keeps only the bill.
        schema["required"] = [r for r in schema.get("required", ()) if r != "requestId"]
        defs[name] = schema
    return {"$ref": _REF.format(model=name)}


def _pascal(name: str) -> str:
    return name[:1].upper() + name[1:]


def _job_by_kind(defs: dict[str, Any]) -> None:
    """``Job`` as a ``oneOf`` of one schema per kind (``ClaimJob``, ``GapJob`` ...), each fixing
    ``kind`` with ``const`` and giving that kind's ``request`` and ``result``: generators make
    a tagged union of it (``allOf``/``if``/``then`` is dropped by most of them)."""
    job = defs.get("Job")
    if job is None:
        return
    _retitle(job, "Job", frozenset(defs))
    variants = []
    for kind, model in JOB_RESULTS.items():
        name = f"{_pascal(kind)}Job"
        variant = copy.deepcopy(job)
        variant["title"] = name
        variant["description"] = f"A Job of kind ``{kind}``."
        props = variant["properties"]
        props["kind"] = {"const": kind, "type": "string", "title": f"{name}Kind"}
        props["result"] = {
            "anyOf": [{"$ref": _REF.format(model=model.__name__)}, {"type": "null"}],
            "title": f"{name}Result",
            "description": props["result"].get("description", "The outcome; null until there is one."),
        }
        request = _request_schema(kind, defs)
        if request is not None:
            props["request"] = {**request, "description": "The params as the PMS sent them (validated)."}
        defs[name] = variant
        variants.append({"$ref": _REF.format(model=name)})
    defs["Job"] = {"title": "Job", "description": job.get("description", ""), "oneOf": variants}


def _retitle(schema: dict[str, Any], title: str, taken: frozenset[str]) -> None:
    """Give ``schema`` the title ``title`` and each of its properties ``title + Property``
    (``ClaimOutcomeResult``), recursively: pydantic titles a property by its name alone, so
    ``result`` of a claim and ``result`` of a job would share a title, and generators merge
    schemas that share one. A property's title that a component already has (``Job`` +
    ``error`` is ``JobError``) takes ``Field`` after it."""
    schema["title"] = title
    for pname, pschema in schema.get("properties", {}).items():
        if isinstance(pschema, dict) and "$ref" not in pschema:
            name = f"{title}{_pascal(pname)}"
            _retitle(pschema, f"{name}Field" if name in taken else name, taken)
    items = schema.get("items")
    if isinstance(items, dict) and "$ref" not in items and ("properties" in items or "title" in items):
        _retitle(items, f"{title}Item", taken)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict) and "$ref" not in extra and "title" in extra:
        _retitle(extra, f"{title}Value", taken)


def _unique_titles(defs: dict[str, Any], done: frozenset[str]) -> None:
    """Every component but ``done`` named by its key, its properties after it (:func:`_retitle`)."""
    taken = frozenset(defs)
    for name, schema in defs.items():
        if name not in done and isinstance(schema, dict) and "oneOf" not in schema:
            _retitle(schema, name, taken)


def _reasons(defs: dict[str, Any]) -> dict[str, Any]:
    """The ``data.reason`` codes of -32004 and -32005 as enums, and the shapes of their ``data``."""
    for name, table in (("NotAllowedReason", NOT_ALLOWED_REASONS), ("UnavailableReason", UNAVAILABLE_REASONS)):
        defs[name] = {
            "title": name, "type": "string", "enum": list(table),
            "description": "; ".join(f"``{code}``: {words}" for code, words in table.items()),
        }
    defs["NotAllowedData"] = {
        "title": "NotAllowedData", "type": "object", "additionalProperties": True,
        "description": "``error.data`` of -32004: the stable code, the same in words, and what it concerns "
                       "(``jobId``, ``claimJobId``, ``paymentJobId`` ...).",
        "required": ["reason", "message"],
        "properties": {"reason": {"$ref": _REF.format(model="NotAllowedReason")},
                       "message": {"type": "string", "title": "NotAllowedDataMessage"}},
    }
    defs["UnavailableData"] = {
        "title": "UnavailableData", "type": "object", "additionalProperties": True,
        "description": "``error.data`` of -32005: nothing was done; try again after ``retryAfterMs``.",
        "required": ["reason", "message", "retryAfterMs"],
        "properties": {"reason": {"$ref": _REF.format(model="UnavailableReason")},
                       "message": {"type": "string", "title": "UnavailableDataMessage"},
                       "retryAfterMs": {"type": "integer", "minimum": 0, "title": "UnavailableDataRetryAfterMs"}},
    }
    return {"-32004": {"$ref": _REF.format(model="NotAllowedData")},
            "-32005": {"$ref": _REF.format(model="UnavailableData")}}


_CITATION = re.compile(r"(?:reference|seeds/|INTERFACES\.md|\.py\b)")
_PARENS = re.compile(r"\s*\(([^()]*)\)")


def _public(text: str) -> str:
    """A docstring as a PMS developer reads it: no citations of files the daemon does not ship,
    no ``Attributes:`` section (the fields are documented one by one)."""
    text = text.split("\n\nAttributes:", 1)[0]

    def keep(match: re.Match[str]) -> str:
        every = re.split(r"[;,]\s*", match.group(1))
        parts = [part for part in every if not _CITATION.search(part)]
        if len(parts) < len(every) and all(part.startswith('"') for part in parts):
            return ""  # only the cited document's section title is left
        return f" ({', '.join(parts)})" if parts else ""

    text = _PARENS.sub(keep, text)
    return text.replace(": exactly the values of INTERFACES.md", "").strip()


def _scrub(node: Any) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "description" and isinstance(value, str):
                node[key] = _public(value)
            else:
                _scrub(value)
    elif isinstance(node, list):
        for value in node:
            _scrub(value)


def _result_schema(method: str, tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    """A method's result schema; one that is not a named component (``[Job]``) is titled after
    the method (``JobListResult``), so generators need not invent a name for it."""
    schema: dict[str, Any] = _schema(tp, "serialization", defs)
    if "$ref" not in schema:
        schema["title"] = "".join(_pascal(part) for part in method.split(".")) + "Result"
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
            _retitle(model_schema, spec.params.__name__, frozenset())
            required = set(model_schema.get("required", ()))
            for pname, pschema in model_schema.get("properties", {}).items():
                params.append({"name": pname, "required": pname in required,
                               "schema": _param_schema(pname, pschema, defs)})
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
                "result": {"name": "result", "schema": _result_schema(name, spec.result, defs)},
                "errors": errors,
            }
        )
    notifications = [
        {"name": name, "params": _schema(model, "serialization", defs)}
        for name, model in NOTIFICATIONS.items()
    ]
    error_data = _reasons(defs)
    _job_by_kind(defs)
    _unique_titles(defs, frozenset({"Job", *(f"{_pascal(kind)}Job" for kind in JOB_RESULTS)}))
    _scrub(defs)
    _scrub(methods)
    _scrub(notifications)
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
        "x-error-data": error_data,
        "x-discover": {"name": "rpc.discover", "result": {"$ref": _OPENRPC_META}},
    }
