"""The PMS vendor's path, with tools nobody here wrote: from the live ``rpc.discover``, the
TypeScript client of ``@open-rpc/generator`` and the types of ``json-schema-to-typescript``,
compiled with ``tsc --strict`` (Debian's node-typescript), and every answer recorded in
docs/protocol_examples.json type-checked against both.

The only edit made to what the generators write is the one their unmerged fix for
open-rpc/generator#619 makes: a class member named after a dotted method (``public
healthpoint.claim``, a syntax error) is renamed to camelCase (``healthpointClaim``).

The npm packages are pinned in the Makefile (``make node-tools``, which ``make test`` runs) and
live in ``.venv/node``; without them (or without tsc) the test is skipped, saying so.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.daemon_harness import Running, Sim, claim_request, make_settings, start_daemon, stop_daemon

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
NODE = ROOT / ".venv" / "node" / "node_modules"
GENERATOR = NODE / ".bin" / "open-rpc-generator"
JSON2TS = NODE / ".bin" / "json2ts"
EXAMPLES = ROOT / "docs" / "protocol_examples.json"

_DOTTED_MEMBER = re.compile(r"(\bpublic\s+)([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+)(\s*:)")


def _camel(dotted: str) -> str:
    first, *rest = dotted.split(".")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def rename_dotted_members(source: str) -> tuple[str, int]:
    """What open-rpc/generator's unmerged fix for #619 does: ``public a.b:`` -> ``public aB:``.

    Returns the source and how many members were renamed.
    """
    return _DOTTED_MEMBER.subn(lambda m: f"{m.group(1)}{_camel(m.group(2))}{m.group(3)}", source)


def _pascal_method(name: str) -> str:
    """The generator's type name of a method: ``healthpoint.claim`` -> ``HealthpointClaim``."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("."))


def _result_type(schema: dict[str, Any]) -> str | None:
    """The json-schema-to-typescript type of a method's result schema."""
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return ref.rsplit("/", 1)[-1]
    items = schema.get("items")
    if schema.get("type") == "array" and isinstance(items, dict) and isinstance(items.get("$ref"), str):
        return str(items["$ref"]).rsplit("/", 1)[-1] + "[]"
    return None


def _checks(doc: dict[str, Any], recorded: dict[str, Any]) -> tuple[str, int]:
    """A TypeScript module assigning every recorded answer to its declared type, twice: the
    generated client's method result and the json-schema-to-typescript type."""
    methods = {m["name"]: m for m in doc["methods"]}
    notes = {n["name"]: n["params"] for n in doc["x-notifications"]}
    lines = ['import type * as C from "./client/typescript/src/index";', 'import type * as T from "./types";', ""]
    count = 0
    for name, examples in sorted(recorded["methods"].items()):
        spec = methods[name]
        plain = _result_type(spec["result"]["schema"])
        for example in examples:
            for note in example.get("notifications", ()):
                note_type = _result_type(notes[note["method"]])
                assert note_type is not None, note["method"]
                lines.append(f"export const n{count}: T.{note_type} = {json.dumps(note['params'])};")
                count += 1
            if "result" not in example:
                continue
            value = json.dumps(example["result"])
            lines.append(f"export const c{count}: Awaited<ReturnType<C.{_pascal_method(name)}>> = {value};")
            if plain is not None:
                lines.append(f"export const t{count}: T.{plain} = {value};")
            count += 1
    for refusal in recorded.get("errors", ()):
        data = refusal["error"].get("data")
        code = refusal["error"]["code"]
        if code in (-32004, -32005):
            kind = "NotAllowedData" if code == -32004 else "UnavailableData"
            lines.append(f"export const e{count}: T.{kind} = {json.dumps(data)};")
            count += 1
    # The types are narrow enough to catch a mistake (were any of them `any`, these would pass
    # and tsc would report the unused directive).
    lines += [
        "// @ts-expect-error: a claim's result is a ClaimOutcome, its items an array",
        'export const bad1: C.ClaimJob["result"] = { items: "none" };',
        "// @ts-expect-error: result.result is an enum of the terminal's results",
        'export const bad2: T.TerminalResult = "MAYBE";',
        "// @ts-expect-error: kind is fixed per variant",
        'export const bad3: T.GapJob["kind"] = "claim";',
        "// @ts-expect-error: data.reason is a listed code",
        'export const bad4: T.NotAllowedReason = "the claim is already cancelled";',
        "",
    ]
    return "\n".join(lines), count


def _run(args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_rename_dotted_members_touches_only_dotted_member_names() -> None:
    source = ("  public healthpoint.claim: HealthpointClaim = (...params) => {\n"
              '    return this.request("healthpoint.claim", params);\n'
              "  public rpc: Client;\n  public job.list: JobList = x;\n")
    renamed, count = rename_dotted_members(source)
    assert count == 2
    assert "public healthpointClaim: HealthpointClaim" in renamed and "public jobList: JobList" in renamed
    assert 'this.request("healthpoint.claim", params)' in renamed and "public rpc: Client;" in renamed


@pytest.mark.skipif(not GENERATOR.exists() or not JSON2TS.exists(),
                    reason="npm tools not installed: run make node-tools")
@pytest.mark.skipif(shutil.which("tsc") is None, reason="tsc not installed (Debian node-typescript)")
async def test_generated_client_and_types_compile_and_fit_every_recorded_answer(tmp_path: Path, sim: Sim) -> None:
    running = await start_daemon(make_settings(tmp_path / "state", sim), sim)
    try:
        client = await running.client()
        doc = await client.call("rpc.discover")
    finally:
        await stop_daemon(running)
    (tmp_path / "openrpc.json").write_text(json.dumps(doc))

    made = _run([str(GENERATOR), "generate", "-d", str(tmp_path / "openrpc.json"), "-o", str(tmp_path),
                 "-t", "client", "-l", "typescript", "-n", "claimbridge"], tmp_path)
    assert made.returncode == 0, made.stdout + made.stderr
    index = tmp_path / "client" / "typescript" / "src" / "index.ts"
    source, renamed = rename_dotted_members(index.read_text())
    assert renamed == sum("." in m["name"] for m in doc["methods"])
    index.write_text(source)

    schemas = doc["components"]["schemas"]
    wrapper = {"title": "ClaimbridgeTypes", "type": "object", "additionalProperties": False,
               "properties": {name: {"$ref": f"#/components/schemas/{name}"} for name in schemas},
               "components": {"schemas": schemas}}
    (tmp_path / "types.json").write_text(json.dumps(wrapper))
    typed = _run([str(JSON2TS), "-i", str(tmp_path / "types.json"), "-o", str(tmp_path / "types.ts")], tmp_path)
    assert typed.returncode == 0, typed.stdout + typed.stderr

    checks, count = _checks(doc, json.loads(EXAMPLES.read_text()))
    assert count >= 30  # every method answered at least once, and its notifications
    (tmp_path / "checks.ts").write_text(checks)
    (tmp_path / "node_modules").symlink_to(NODE, target_is_directory=True)
    tsc = _run(["tsc", "--noEmit", "--strict", "--target", "es2022", "--module", "esnext",
                "--moduleResolution", "node", "--esModuleInterop", "--resolveJsonModule",
                str(index), str(tmp_path / "types.ts"), str(tmp_path / "checks.ts")], tmp_path, timeout=600)
    assert tsc.returncode == 0 and tsc.stdout.strip() == "", tsc.stdout[:5000] + tsc.stderr


#: A PMS vendor's program on the generated client, run by node: one claim, then the same request
#: again (the safe retry: the same job, nothing sent twice), each answer read through the types.
_PMS_PROGRAM = """\
import WebSocket from "ws";

const [url, token, paramsJson, requestId] = process.argv.slice(2) as [string, string, string, string];
// The generated WebSocket transport takes only a URL; the daemon wants the token at the
// handshake: offer it as the ``bearer.<token>`` subprotocol (as a browser does), by handing the
// client library a WebSocket class that does so.
class WithToken extends WebSocket {
  constructor(address: string) {
    super(address, [`bearer.${token}`, "claimbridge.v1"]);
  }
}
require("isomorphic-ws");
require.cache[require.resolve("isomorphic-ws")]!.exports = WithToken;
const generated = require("./client/typescript/src/index") as typeof import("./client/typescript/src/index");

async function main(): Promise<void> {
  const params = JSON.parse(paramsJson) as import("./client/typescript/src/index").ClaimParams;
  const where = new URL(url);
  const client = new generated.Claimbridge({
    transport: { type: "websocket", host: where.hostname, port: Number(where.port), path: where.pathname },
  });
  // The generated client checks a call's positional arguments by name for a ``by-name`` method
  // (@open-rpc/schema-utils-js 2.1.2 under generator 2.1.1), so it refuses every such call
  // before sending it: leave the checking to the daemon, which names every bad field.
  (client as unknown as { validator: { validate: () => unknown[] } }).validator = { validate: () => [] };
  const claim = () => client.healthpointClaim(
    params.providerId, params.serviceType, params.items, requestId, params.terminal, params.onApproved);
  const job = await claim();
  if (job.kind !== "claim") {
    throw new Error(`a claim answered a ${job.kind} job`);
  }
  const outcome = job.result;  // ClaimOutcome | null: the type knows a claim's outcome
  const again = await claim();
  console.log(JSON.stringify({
    state: job.state, result: outcome ? outcome.result : null, refTag: outcome ? outcome.refTag : null,
    benefit: outcome ? outcome.totalBenefit : null, seq: job.seq, jobId: job.jobId,
    againJobId: again.jobId, againState: again.state,
  }));
  client.rpc.close();
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : JSON.stringify(err));
  process.exit(1);
});
"""


async def _exec(*args: str, cwd: Path, timeout: float = 600) -> tuple[int, str]:
    """A child process run without blocking the event loop the daemon runs in."""
    proc = await asyncio.create_subprocess_exec(*args, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    return int(proc.returncode or 0), out.decode()


@pytest.mark.skipif(not GENERATOR.exists(), reason="npm tools not installed: run make node-tools")
@pytest.mark.skipif(shutil.which("tsc") is None or shutil.which("node") is None,
                    reason="tsc or node not installed (Debian node-typescript, nodejs)")
async def test_the_generated_typescript_client_makes_an_approved_claim_under_node(daemon: Running) -> None:
    """The generated client, compiled with ``tsc --strict`` and run by node against the daemon
    and the simulator: a claim APPROVED, read through its types, and the same request sent again
    answered with the same job (the fund saw one claim)."""
    tmp = daemon.daemon.settings.state_dir.parent / "ts-client"
    tmp.mkdir()
    client = await daemon.client()
    (tmp / "openrpc.json").write_text(json.dumps(await client.call("rpc.discover")))
    code, out = await _exec(str(GENERATOR), "generate", "-d", "openrpc.json", "-o", ".", "-t", "client",
                            "-l", "typescript", "-n", "claimbridge", cwd=tmp)
    assert code == 0, out
    index = tmp / "client" / "typescript" / "src" / "index.ts"
    index.write_text(rename_dotted_members(index.read_text())[0])
    (tmp / "pms.ts").write_text(_PMS_PROGRAM)
    (tmp / "node_modules").symlink_to(NODE, target_is_directory=True)
    code, out = await _exec("tsc", "--strict", "--target", "es2022", "--module", "commonjs", "--moduleResolution", "node",
                            "--esModuleInterop", "--resolveJsonModule", "--outDir", "build", "pms.ts", cwd=tmp)
    assert code == 0 and out.strip() == "", out[:5000]

    params = claim_request(requestId="ts-client-claim")
    code, out = await _exec("node", "build/pms.js", daemon.daemon.url, daemon.daemon.token, json.dumps(params), params["requestId"],
                            cwd=tmp, timeout=120)
    assert code == 0, out[-5000:]
    seen = json.loads(out.strip().splitlines()[-1])
    assert (seen["state"], seen["result"]) == ("completed", "APPROVED"), seen
    assert seen["refTag"] and seen["benefit"] > 0 and seen["seq"] > 0
    assert (seen["againJobId"], seen["againState"]) == (seen["jobId"], "completed")
    assert [r["transactionId"] for r in await daemon.sim.ledger() if r["kind"] == "claim"] == [seen["jobId"]]
    print("node:", seen)
