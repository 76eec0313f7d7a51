"""Every message the server can make a user read exists in Chinese and English on the phone and
the dashboard: each problem code (collected from the server's error classes and the scan
refusals, so a new code without texts fails here), each anomaly kind with its explanation, and
each state, action, category, method, incident, role and manifest state."""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import get_args

from schemas.custody import Category
from service.anomalies.models import AnomalyStatus, Severity
from service.anomalies.rules import Kind
from service.auth.roles import Role
from service.custody.machine import Action, DisposalMethod, Incident, State
from service.manifests.models import ManifestState, Party
from service.organizations.models import OrgKind
from service.web.router import DEFAULT_WEB_DIR

REPO = Path(__file__).resolve().parents[2]
CODE = re.compile(r"^[a-z]+(-[a-z]+)*$")
ENTRY = re.compile(r'\[\s*"([^"]+)",\s*"((?:[^"\\]|\\.)*)",\s*"((?:[^"\\]|\\.)*)"\s*\]')
CJK = re.compile(r"[\u4e00-\u9fff]")


def _status(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Constant) and isinstance(node.value, int) and 400 <= node.value < 600
    )


def _code(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and CODE.match(node.value):
        return node.value
    return None


def _after_status(nodes: list[ast.expr]) -> Iterator[str]:
    """A code right after an HTTP status: refuse(c, 409, "code", ...), (422, "code", ...)."""
    for first, second in itertools.pairwise(nodes):
        if _status(first) and (code := _code(second)):
            yield code


def server_problem_codes() -> set[str]:
    codes: set[str] = set()
    for path in [
        *REPO.joinpath("service").rglob("*.py"),
        *REPO.joinpath("mobile_api").rglob("*.py"),
    ]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    # class ...: code = "x"  /  status, code, title = 404, "x", "..."
                    if isinstance(target, ast.Name) and target.id == "code":
                        codes.update(filter(None, [_code(node.value)]))
                    if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                        for name, value in zip(target.elts, node.value.elts, strict=False):
                            if isinstance(name, ast.Name) and name.id == "code":
                                codes.update(filter(None, [_code(value)]))
            elif isinstance(node, ast.Call):
                codes.update(_after_status(node.args))
                # _HTTP_TITLES.get(status, ("http-error", "HTTP error"))
                if isinstance(node.func, ast.Attribute) and node.func.attr == "get":
                    for arg in node.args[1:]:
                        if isinstance(arg, ast.Tuple) and arg.elts:
                            codes.update(filter(None, [_code(arg.elts[0])]))
            elif isinstance(node, ast.Tuple):
                codes.update(_after_status(node.elts))
            elif (
                isinstance(node, ast.Dict)
                and node.keys
                and all(k is not None and _status(k) for k in node.keys)
            ):
                # {404: ("not-found", "Not found"), ...}
                for value in node.values:
                    if isinstance(value, ast.Tuple) and value.elts:
                        codes.update(filter(None, [_code(value.elts[0])]))
    return codes


def texts(relative: str, block: str | None = None) -> dict[str, tuple[str, str]]:
    source = (DEFAULT_WEB_DIR / relative).read_text(encoding="utf-8")
    if block is not None:
        found = re.search(rf"const {block} = \[(.*?)\n\];", source, re.S)
        assert found is not None, f"{relative} has no {block} list"
        source = found.group(1)
    return {key: (en, zh) for key, en, zh in ENTRY.findall(source)}


def _check(entries: dict[str, tuple[str, str]], keys: set[str], where: str) -> None:
    missing = sorted(k for k in keys if k not in entries)
    assert not missing, f"{where} has no text for {missing}"
    for key in keys:
        en, zh = entries[key]
        assert en.strip() and not CJK.search(en), f"{where}: {key} needs an English text"
        assert CJK.search(zh), f"{where}: {key} needs a Chinese text"


def test_the_collector_finds_the_codes_it_should() -> None:
    codes = server_problem_codes()
    # One of each way a code is written, so that a collector gone blind fails here.
    assert {
        "not-found",  # a class attribute (status, code, title = ...)
        "invalid-transition",  # code = "..." in a plain exception
        "custody-mismatch",  # refuse(container, 403, "custody-mismatch", ...)
        "forged-label",  # return 422, "forged-label", ...
        "invalid-input",  # problem_body(422, "invalid-input", ...)
        "unsupported-media-type",  # {415: ("unsupported-media-type", ...)}
        "http-error",  # .get(status, ("http-error", ...))
        "manifest-not-open",
        "device-revoked",
    } <= codes
    assert len(codes) >= 30


def test_every_problem_code_the_server_can_send_has_both_languages() -> None:
    _check(texts("shared/problems.js", "PROBLEMS"), server_problem_codes(), "problems.js")


def test_every_server_vocabulary_word_has_both_languages() -> None:
    keys = {
        *(f"kind.{k}" for k in Kind),
        *(f"why.{k}" for k in Kind),
        *(f"todo.{k}" for k in Kind),
        *(f"meaning.{k}" for k in Kind),
        *(f"act.{k}" for k in Kind),
        *(f"state.{s}" for s in State),
        *(f"action.{a}" for a in Action),
        *(f"method.{m}" for m in DisposalMethod),
        *(f"incident.{i}" for i in Incident),
        *(f"role.{r}" for r in Role),
        *(f"mstate.{s}" for s in ManifestState),
        *(f"party.{p}" for p in Party),
        *(f"okind.{k}" for k in OrgKind),
        *(f"sev.{s}" for s in Severity),
        *(f"astatus.{s}" for s in AnomalyStatus),
        *(f"cat.{c}" for c in get_args(Category)),
        *(f"label.{v}" for v in ("valid", "forged", "unknown_key", "malformed", "code_entered")),
    }
    _check(texts("shared/i18n.js", "ENTRIES"), keys, "i18n.js")


def test_a_missing_text_fails() -> None:
    entries = texts("shared/problems.js", "PROBLEMS")
    del entries["custody-mismatch"]
    try:
        _check(entries, server_problem_codes(), "problems.js")
    except AssertionError as exc:
        assert "custody-mismatch" in str(exc)
    else:
        raise AssertionError("a missing text went unnoticed")
