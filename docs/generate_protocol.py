"""Write docs/protocol.md and docs/claimbridge.d.ts from the OpenRPC document (``rpc.discover``).

Usage: ``python docs/generate_protocol.py`` rewrites both; ``--check`` exits 1 when either is
stale (tests/unit/test_docs.py does the same). The examples come from docs/protocol_examples.json,
recorded against the simulator by docs/record_examples.py; each is validated against its method's
params and result models before it is written, so an example cannot drift from the protocol.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pydantic import TypeAdapter

from typescript import render_types  # noqa: E402  (docs/typescript.py, beside this file)

from bridge.protocol import METHODS, NOTIFICATIONS, openrpc_document, parse_params  # noqa: E402
from bridge.reasons import NOT_ALLOWED_REASONS, UNAVAILABLE_REASONS  # noqa: E402

REASON_WORDS: dict[str, str] = {**NOT_ALLOWED_REASONS, **UNAVAILABLE_REASONS}

#: How a PMS that was away catches up, and the clients that do it for it.
CATCHING_UP = [
    "## Catching up, and clients that get the hard part right",
    "",
    "Every Job carries `seq`, the journal's change number of its last change (it grows with every",
    "change of any job): `job.list {since: SEQ, limit}` answers `{jobs, nextSince, more}`, the jobs",
    "changed after `SEQ` in `seq` order; ask again with `since: nextSince` while `more` (`limit` up to",
    "1000; paging reaches every job). Every notification carries `seq`, its number in the daemon's",
    "event log: `events.subscribe {topics, since}` first replays every notification of those topics",
    "recorded after `since` (kept 7 days), in order, then goes on live — no gap, no repeat.",
    "",
    "**Python** (`bridge.client`, in this repository): reconnects, sends the same `requestId` again",
    "after a dropped connection (never a second claim), answers questions (again, if the answer was",
    "lost with the connection), and subscribes with `since` on every connection:",
    "",
    "```python",
    "from bridge.client import Client",
    "",
    "async def ask_the_desk(question):          # job.question {jobId, text, options}",
    "    return \"ACCEPT\"",
    "",
    "async with Client(\"ws://127.0.0.1:8765/v1\", token, since=saved_seq, on_question=ask_the_desk,",
    "                  on_notification=lambda method, params: print(method, params[\"seq\"])) as pms:",
    "    job = await pms.claim(requestId=\"pms-7781-claim\", providerId=\"2159081W\", serviceType=\"P\",",
    "                          items=[...], onApproved=\"ask\")",
    "    saved_seq = pms.last_seq                # keep it: the next run catches up from here",
    "```",
    "",
    "**TypeScript**: `@open-rpc/generator` (client) and `json-schema-to-typescript` (types) work on",
    "`rpc.discover` as it is; compile with `tsc --strict`. The generator writes `public healthpoint.claim`",
    "for a dotted method name (its issue #619): rename such members to camelCase (`healthpointClaim`)",
    "before compiling. Two more things the generated client (generator 2.1.1) needs at run time: its",
    "WebSocket transport takes only a URL, so hand the client library a WebSocket that offers the",
    "token as the `bearer.<token>` subprotocol; and it checks a `by-name` method's positional",
    "arguments by name, refusing every call before sending it, so leave the checking to the daemon:",
    "",
    "```typescript",
    "import WebSocket from \"ws\";",
    "class WithToken extends WebSocket {",
    "  constructor(address: string) { super(address, [`bearer.${token}`, \"claimbridge.v1\"]); }",
    "}",
    "require(\"isomorphic-ws\");",
    "require.cache[require.resolve(\"isomorphic-ws\")]!.exports = WithToken;   // before loading the client",
    "const { Claimbridge } = require(\"./client/typescript/src/index\") as typeof import(\"./client/typescript/src/index\");",
    "",
    "const client = new Claimbridge({ transport: { type: \"websocket\", host: \"127.0.0.1\", port: 8765, path: \"/v1\" } });",
    "(client as unknown as { validator: { validate: () => unknown[] } }).validator = { validate: () => [] };",
    "const job = await client.healthpointClaim(\"2159081W\", \"P\", items, \"pms-7781-claim\", \"front-desk\", \"ask\");",
    "if (job.kind === \"claim\" && job.result?.result === \"APPROVED\") { /* bill job.result.totalBenefit */ }",
    "// Lost the answer? Call again with the same requestId: the same job comes back, nothing is sent twice.",
    "```",
    "",
    "Tests do exactly this: tests/e2e/test_generated_clients.py compiles the client and the types and",
    "type-checks every recorded answer, and runs such a program under node against the daemon and the",
    "simulator (a claim APPROVED, then the same request answered with the same job).",
    "",
]

#: What a Job's ``state`` means, and what a PMS does about it.
STATES = [
    "## Job states",
    "",
    "`queued` → `running` → `completed` | `failed` | `unknown`; `unknown` → `completed` (the terminal's",
    "`continueLastTransaction` or the fund's report settled it) or `resolved` (by an operator).",
    "**`completed` is not `approved`**: read `result.result`.",
    "",
    "| state | means | what the PMS does |",
    "|---|---|---|",
    "| `queued` | accepted and journalled, waiting for its terminal (or for Healthcode) | wait for `job.updated` |",
    "| `running` | at the terminal (or with Healthcode) | wait; answer a `job.question` |",
    "| `completed` | the terminal or the fund gave an outcome: read `result.result` — `APPROVED`, "
    "`DECLINED`, `CANCELLED`, `REVERSED` (a bill: `result.status`) | bill what `result.result` says |",
    "| `failed` | nothing was sent, or the terminal said `NOT STARTED`; `error` says why | "
    "fix and send again, with a new `requestId` |",
    "| `unknown` | it may have been sent (`UNKNOWN`, `SYSTEM ERROR`, a crash or a lost page during the "
    "transaction) | never send it again: look at the terminal, wait for reconciliation (a `job.updated` "
    "to `completed`), or settle it with `job.resolve` |",
    "| `resolved` | an operator settled an `unknown` job (`job.resolve`); `result.resolution` says how | "
    "bill what the operator decided |",
    "",
]

__all__ = ["DOCS", "render", "render_types_file", "main"]

DOCS = Path(__file__).resolve().parent
TARGET = DOCS / "protocol.md"
TYPES = DOCS / "claimbridge.d.ts"
EXAMPLES = DOCS / "protocol_examples.json"
_REF = "#/components/schemas/"


def _type(schema: dict[str, Any]) -> str:
    """A short human type for a JSON schema: ``string``, ``[ClaimItem]``, ``"a" | "b"``."""
    if "$ref" in schema:
        return str(schema["$ref"]).removeprefix(_REF)
    if "enum" in schema:
        return " \\| ".join(f'`"{v}"`' if isinstance(v, str) else f"`{v}`" for v in schema["enum"])
    if "const" in schema:
        return f'`"{schema["const"]}"`'
    for combo in ("anyOf", "oneOf"):
        if combo in schema:
            parts = [_type(s) for s in schema[combo] if s.get("type") != "null"]
            nullable = any(s.get("type") == "null" for s in schema[combo])
            return " \\| ".join(parts) + (" \\| null" if nullable else "")
    kind = schema.get("type")
    if kind == "array":
        return f"[{_type(schema.get('items', {}))}]"
    if kind == "object" and "additionalProperties" in schema and isinstance(schema["additionalProperties"], dict):
        return f"{{string: {_type(schema['additionalProperties'])}}}"
    return str(kind or "any")


def _rules(schema: dict[str, Any]) -> str:
    """Constraints worth telling a PMS developer, in words."""
    inner = schema
    for combo in ("anyOf", "oneOf"):
        if combo in schema:
            non_null = [s for s in schema[combo] if s.get("type") != "null"]
            if len(non_null) == 1:
                inner = non_null[0]
    out = []
    for key, word in (("minLength", "min length"), ("maxLength", "max length"), ("minimum", ">="),
                      ("exclusiveMinimum", ">"), ("maximum", "<="), ("minItems", "min items"),
                      ("maxItems", "max items")):
        if key in inner:
            out.append(f"{word} {inner[key]}")
    if "pattern" in inner and "enum" not in inner:
        out.append(f"pattern `{inner['pattern']}`")
    if "default" in schema and schema["default"] is not None:
        out.append(f"default `{json.dumps(schema['default'])}`")
    description = schema.get("description") or inner.get("description")
    if description:
        out.insert(0, str(description).replace("\n", " ").rstrip("."))
    return "; ".join(out)


def _json_block(value: Any) -> list[str]:
    return ["```json", json.dumps(value, indent=2, ensure_ascii=False), "```"]


def _check_example(name: str, example: dict[str, Any]) -> None:
    spec = METHODS[name]
    parse_params(name, example.get("params"))
    TypeAdapter(spec.result).validate_python(example["result"])
    for note in example.get("notifications", ()):
        TypeAdapter(NOTIFICATIONS[note["method"]]).validate_python(note["params"])


def _exchange(name: str, example: dict[str, Any], rid: int) -> list[str]:
    request: dict[str, Any] = {"jsonrpc": "2.0", "id": rid, "method": name}
    if example.get("params") is not None:
        request["params"] = example["params"]
    lines = ["Request:", "", *_json_block(request), ""]
    for note in example.get("notifications", ()):
        lines += ["A notification on the way:", "", *_json_block({"jsonrpc": "2.0", **note}), ""]
    answer = {"result": example["result"]} if "result" in example else {"error": example["error"]}
    lines += ["Response:", "", *_json_block({"jsonrpc": "2.0", "id": rid, **answer}), ""]
    return lines


def _method_section(method: dict[str, Any], examples: list[dict[str, Any]]) -> list[str]:
    name = method["name"]
    lines = [f"### `{name}`", "", method["summary"], ""]
    if method["params"]:
        lines += ["| param | type | required | rules |", "|---|---|---|---|"]
        for p in method["params"]:
            lines.append(f"| `{p['name']}` | {_type(p['schema'])} | {'yes' if p['required'] else 'no'} | "
                         f"{_rules(p['schema'])} |")
    else:
        lines.append("No params.")
    lines += ["", f"**Result:** {_type(method['result']['schema'])}", ""]
    if method["errors"]:
        codes = ", ".join(f"{e['code']} {e['message']}" for e in method["errors"])
        lines += [f"**Errors:** {codes}", ""]
    for i, example in enumerate(examples):
        lines += ["**Example" + (f" {i + 1}" if len(examples) > 1 else "") + ".**", ""]
        lines += _exchange(name, example, i + 1)
    return lines


def _examples() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(EXAMPLES.read_text())
    return data


def render() -> str:
    """The whole of docs/protocol.md.

    Raises:
        KeyError: a method has no example in docs/protocol_examples.json.
        pydantic.ValidationError, ClaimbridgeError: an example does not fit its method.
    """
    doc = openrpc_document("")
    recorded = _examples()
    examples: dict[str, list[dict[str, Any]]] = recorded["methods"]
    lines = [
        "# claimbridge protocol reference",
        "",
        "<!-- Generated by docs/generate_protocol.py from bridge.protocol.openrpc_document(); do not edit. -->",
        "",
        doc["info"]["description"],
        "",
        "Connect to `ws://HOST:8765/v1` with `Authorization: Bearer <token>` (the token is in the daemon's",
        "state directory, file `token`); browsers, which cannot set headers, offer the subprotocols",
        "`claimbridge.v1` and `bearer.<token>`. Every frame is JSON-RPC 2.0: ids are echoed, batches are",
        "allowed, notifications (no id) get no reply. Amounts are integer cents; dates `YYYY-MM-DD`.",
        "`rpc.discover` returns the OpenRPC document this page is generated from; TypeScript definitions",
        "generated from the same document are in `docs/claimbridge.d.ts`.",
        "",
        "Every example below is an exchange recorded against the simulator by `docs/record_examples.py`",
        "(ids, times and references are the ones that run produced), and a test checks each one",
        "against its schema.",
        "",
        *STATES,
        *CATCHING_UP,
        "## Errors",
        "",
        "| code | meaning |",
        "|---|---|",
    ]
    codes: dict[int, str] = {-32700: "Parse error", -32600: "Invalid request", -32601: "Method not found"}
    for method in doc["methods"]:
        for err in method["errors"]:
            codes.setdefault(err["code"], err["message"])
    for code in sorted(codes, reverse=True):
        lines.append(f"| {code} | {codes[code]} |")
    lines += ["", "-32602 carries `data.errors: [{field, message}]` naming every bad field; a field is named",
              "by its path, one syntax everywhere (`data.errors`, a bill's `problems`): `items[0].claimAmount`.", ""]
    lines += ["-32004 and -32005 carry `data.reason`, a stable camelCase code (branch on it), and",
              "`data.message`, the same in words for a person; -32005 adds `retryAfterMs`. The codes are",
              "the enums `NotAllowedReason` and `UnavailableReason` of `rpc.discover`:", "",
              "| code | reason | meaning |", "|---|---|---|"]
    schemas = doc["components"]["schemas"]
    for code, enum in ((-32004, "NotAllowedReason"), (-32005, "UnavailableReason")):
        for reason in schemas[enum]["enum"]:
            lines.append(f"| {code} | `{reason}` | {REASON_WORDS[reason]} |")
    lines.append("")
    for i, refusal in enumerate(recorded.get("errors", ())):
        lines += [f"**Refused: {refusal['title']}.**", ""]
        lines += _exchange(refusal["method"], refusal, 100 + i)
    lines += ["## Methods", ""]
    for method in doc["methods"]:
        name = method["name"]
        for example in examples[name]:
            _check_example(name, example)
        lines += _method_section(method, examples[name])
    lines += ["## Notifications", "",
              "Sent to the connection that submitted the job and to connections subscribed with "
              "`events.subscribe`.", ""]
    for note in doc["x-notifications"]:
        schema = note["params"]
        target = doc["components"]["schemas"].get(str(schema.get("$ref", "")).removeprefix(_REF), schema)
        fields = ", ".join(f"`{k}`: {_type(v)}" for k, v in target.get("properties", {}).items())
        lines += [f"- `{note['name']}` {{{fields}}}"]
    lines += ["", "## Schemas", "",
              "A schema marked *open* may carry fields beyond those listed (the terminal, a fund or",
              "Healthcode may add some): read the ones you know, keep the rest.", ""]
    for name, schema in doc["components"]["schemas"].items():
        lines += [f"### {name}", ""]
        if schema.get("description"):
            lines += [str(schema["description"]), ""]
        if schema.get("additionalProperties") is True:
            lines += ["*Open.*", ""]
        if schema.get("oneOf"):
            lines += ["One of (by `kind`): " + ", ".join(_type(sub) for sub in schema["oneOf"]), ""]
        props = schema.get("properties")
        if props:
            required = set(schema.get("required", ()))
            lines += ["| field | type | required | rules |", "|---|---|---|---|"]
            for field, fschema in props.items():
                lines.append(f"| `{field}` | {_type(fschema)} | {'yes' if field in required else 'no'} | "
                             f"{_rules(fschema)} |")
            lines.append("")
        else:
            lines += [f"Type: {_type(schema)}", ""]
    return "\n".join(lines).rstrip() + "\n"


def render_types_file() -> str:
    """The whole of docs/claimbridge.d.ts."""
    return render_types(openrpc_document(""))


def main(argv: list[str] | None = None) -> int:
    """Write docs/protocol.md and docs/claimbridge.d.ts, or with ``--check`` report whether they are current."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if either file is stale")
    args = parser.parse_args(argv)
    outputs = {TARGET: render(), TYPES: render_types_file()}
    if args.check:
        stale = [path.name for path, text in outputs.items() if not path.exists() or path.read_text() != text]
        if stale:
            print(f"{', '.join(stale)} stale: run python docs/generate_protocol.py", file=sys.stderr)
            return 1
        return 0
    for path, text in outputs.items():
        path.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
