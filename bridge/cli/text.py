"""The CLI's words, pure: config problems, refusals and events as one plain line each.

``claimbridge`` never shows a person a traceback or a Python repr: a config that does not
load becomes :class:`ConfigProblem` lines (file, key, rule, fix), a JSON-RPC error becomes
one line with what to do, and each notification a short summary (``job 5f0c… running``).
Nothing here does I/O; :mod:`bridge.cli.commands` prints what these functions return.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

__all__ = [
    "EXIT_CODES",
    "ConfigProblem",
    "config_problems",
    "error_line",
    "event_line",
]

#: Exit codes of every ``claimbridge`` command (the ``--help`` epilog and docs/operations.md).
EXIT_CODES: Mapping[int, str] = {
    0: "success (call: the daemon answered with a result; doctor: every check passed)",
    1: "the daemon refused the request, a job or pairing failed, a doctor check failed, "
    "or run could not start (port in use, another daemon, the state directory, journal or browser unusable, a missing extra)",
    2: "usage: bad arguments, JSON-PARAMS that is not JSON, or a config that does not load",
    3: "no daemon to talk to: not running, no token file, or the token refused",
}


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """Why a config does not load: which file, which key, which rule, and the fix."""

    file: str
    key: str
    rule: str
    fix: str

    def line(self) -> str:
        """The problem as one plain line."""
        where = f"{self.file}: {self.key}" if self.key else self.file
        return f"config {where}: {self.rule}; fix: {self.fix}"


def _env_name(loc: tuple[int | str, ...]) -> str:
    return "CLAIMBRIDGE_" + "__".join(str(part).upper() for part in loc)


def _rule(error: Mapping[str, Any]) -> tuple[str, str]:
    """(rule in plain words, fix) for one pydantic error."""
    kind = str(error["type"])
    msg = str(error["msg"])
    if kind == "extra_forbidden":
        return "is not a known setting", "correct its spelling (see systemd/claimbridge.example.toml) or remove it"
    if kind == "missing":
        return "is required", "add it"
    if kind.startswith("int"):
        return "must be a whole number", "write it without quotes, e.g. 2187"
    if kind.startswith("float"):
        return "must be a number", "write it without quotes, e.g. 30"
    if kind.startswith("bool"):
        return "must be true or false", "write true or false, without quotes"
    if kind in ("string_type", "str_type"):
        return "must be text", 'put it in double quotes, e.g. "127.0.0.1:8765"'
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "must be a table", "write it as a [section] of its own"
    text = msg.removeprefix("Value error, ").replace("Input should be", "must be")
    return text[:1].lower() + text[1:], "change the value to follow that rule"


def config_problems(exc: BaseException, config_file: Path | None, environ: Mapping[str, str] | None = None) -> list[ConfigProblem]:
    """Turn what :func:`bridge.config.load_settings` raised into plain problems.

    Args:
        exc: The exception (``FileNotFoundError``, ``tomllib.TOMLDecodeError``,
            ``pydantic.ValidationError``, or another ``OSError``/``ValueError``).
        config_file: The file that was read (``None``: defaults and the environment only).
        environ: The environment, to tell a bad ``CLAIMBRIDGE_*`` variable from a bad key.

    Returns:
        One problem per broken rule, never empty.
    """
    env = os.environ if environ is None else environ
    name = str(config_file) if config_file is not None else "(no file: defaults and environment)"
    if isinstance(exc, FileNotFoundError):
        return [ConfigProblem(name, "", "the file does not exist",
                              "give an existing file with --config, or leave --config out to use the defaults")]
    if isinstance(exc, tomllib.TOMLDecodeError):
        return [ConfigProblem(name, "", f"is not valid TOML ({exc})",
                              "fix the syntax at that line (strings in double quotes, [sections] on their own line)")]
    if isinstance(exc, ValidationError):
        problems = []
        for error in exc.errors(include_url=False, include_input=False):
            loc = tuple(error["loc"])
            key = ".".join(str(part) for part in loc)
            rule, fix = _rule(error)
            variable = _env_name(loc)
            if variable in env or (loc and _env_name(loc[:1]) in env):
                problems.append(ConfigProblem("environment", variable if variable in env else _env_name(loc[:1]),
                                              rule, f"change or unset the variable; {fix}"))
            else:
                problems.append(ConfigProblem(name, key or "(top level)", rule, fix))
        return problems or [ConfigProblem(name, "", "does not load", "check the file against systemd/claimbridge.example.toml")]
    if isinstance(exc, OSError):
        return [ConfigProblem(name, "", f"cannot be read ({exc.strerror or exc})", "check the file's permissions")]
    return [ConfigProblem(name, "", f"does not load ({exc})", "check the file against systemd/claimbridge.example.toml")]


# --------------------------------------------------------------------------- refusals

#: What to do, per JSON-RPC error code (INTERFACES.md "Errors").
_WHAT_TO_DO: Mapping[int, str] = {
    -32700: "send valid JSON",
    -32600: "send a JSON-RPC 2.0 request object",
    -32601: "claimbridge call rpc.discover lists the methods",
    -32602: "fix these params and send again",
    -32001: "use a new requestId for a new request, or resend the same payload",
    -32002: "check the id (claimbridge jobs lists the jobs)",
    -32003: "pair the terminal first: claimbridge pair NAME --mid M --tid T",
    -32004: "nothing was sent; see the reason",
    -32005: "nothing was sent; try again shortly",
    -32603: "this is a bug in claimbridge: report it with the daemon's log",
}


def _plain(value: Any) -> str:
    """A JSON value in words: lists joined with commas, objects as ``key value``, never a repr."""
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {_plain(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_plain(v) for v in value)
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _data_text(data: Any) -> str:
    if isinstance(data, Mapping):
        parts = []
        errors = data.get("errors")
        if isinstance(errors, list):
            for err in errors:
                if isinstance(err, Mapping):
                    parts.append(f"{err.get('field', '?')} {err.get('message', '')}".strip())
                else:
                    parts.append(str(err))
        for key, value in data.items():
            if key != "errors":
                parts.append(f"{key}: {_plain(value)}")
        return "; ".join(parts)
    return "" if data is None else _plain(data)


def error_line(method: str, error: Mapping[str, Any]) -> str:
    """A JSON-RPC error as one plain line: what is wrong, then what to do.

    Args:
        method: The method that was called.
        error: The response's ``error`` object ``{code, message, data?}``.
    """
    code = error.get("code")
    message = str(error.get("message") or "error")
    detail = _data_text(error.get("data"))
    todo = _WHAT_TO_DO.get(code, "") if isinstance(code, int) else ""
    if code == -32005 and isinstance(error.get("data"), Mapping):
        retry = error["data"].get("retryAfterMs")
        if isinstance(retry, int | float):
            todo = f"nothing was sent; try again in {max(1, round(retry / 1000))} s"
    line = f"{method} refused ({code} {message})"
    if detail:
        line += f": {detail}"
    return f"{line}. {todo[:1].upper() + todo[1:]}." if todo else f"{line}."


# --------------------------------------------------------------------------- events


def _job_outcome(job: Mapping[str, Any]) -> str:
    result = job.get("result")
    parts = []
    if isinstance(result, Mapping):
        for key in ("result", "status"):
            if isinstance(result.get(key), str):
                parts.append(str(result[key]))
        if isinstance(result.get("totalBenefit"), int):
            parts.append(f"benefit {result['totalBenefit']}")
        if isinstance(result.get("gap"), int):
            parts.append(f"gap {result['gap']}")
    error = job.get("error")
    if isinstance(error, Mapping) and error.get("message"):
        parts.append(str(error["message"]))
    return (": " + ", ".join(parts)) if parts else ""


def event_line(note: Mapping[str, Any]) -> str:
    """A notification as a short line for a person (``job 5f0c… running``).

    Args:
        note: The JSON-RPC notification ``{method, params}``.
    """
    method = str(note.get("method"))
    p = note.get("params")
    params: Mapping[str, Any] = p if isinstance(p, Mapping) else {}
    if method == "job.updated":
        job = params.get("job")
        if isinstance(job, Mapping):
            return f"job {job.get('jobId')} {job.get('kind')} {job.get('state')}{_job_outcome(job)}"
    if method == "job.status":
        return f"job {params.get('jobId')}: {params.get('message')}"
    if method == "job.question":
        options = params.get("options")
        choices = " / ".join(str(o) for o in options) if isinstance(options, list | tuple) else ""
        return f"job {params.get('jobId')} asks: {params.get('text')} [{choices}]"
    if method == "terminal.pairing":
        return f"terminal {params.get('terminal')} pairing {params.get('status')}: {params.get('message')}"
    if method == "reconciliation.done":
        return (f"reconciliation of {params.get('terminal')} {params.get('date')}: "
                f"{len(params.get('settled') or ())} settled, {len(params.get('discrepancies') or ())} discrepancies")
    return f"{method}"
