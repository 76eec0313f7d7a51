"""Mutation testing of the pure core: run it, add the module-level tables, print the score.

``make mutation`` runs this. Three steps:

1. ``mutmut run`` (configured in ``pyproject.toml``, ``[tool.mutmut]``) mutates the functions of
   the pure core modules: flipped comparisons, swapped operators, constants +1, ``None`` for
   arguments and values, dropped arguments, ``break`` for ``continue``, changed strings.
2. mutmut leaves module-level code alone, yet much of the core is tables: the state machine's
   transitions, the stages, the fields the event hash covers. ``tables`` makes those mutants
   itself: each entry of a module-level dict, list, tuple or set dropped in turn (inside calls
   too, such as the role and state lists of a transition), each module-level number +1, each
   module-level string constant changed. Each mutant runs against the pure tests of the
   module's folder (``tests/custody/`` for ``service/custody/…``), in a forked process that
   imports the mutated module afresh.
3. ``report`` prints, per module, how many mutants the tests killed among those that are not
   equivalent. Equivalent mutants (they cannot change behaviour) are listed with a reason each
   in ``tests/mutation/equivalents.txt``; an entry that matches no mutant is reported as stale.

Usage::

    python tools/mutation.py all [--max-children N]   # the three steps (make mutation)
    python tools/mutation.py tables [--max-children N] [--only PATH]
    python tools/mutation.py report [--survivors]
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"
TABLE_RESULTS = MUTANTS / "tables.json"
EQUIVALENTS = ROOT / "tests" / "mutation" / "equivalents.txt"
TARGET = 90.0  # per module, over non-equivalent mutants
# A mutant that loops forever is killed by its CPU time (as mutmut does), so a busy machine
# does not turn slow runs into "timeouts"; the wall-clock limit is only a last resort.
CPU_LIMIT_SECONDS = 30
WALL_LIMIT_SECONDS = 600.0


def _config() -> dict[str, Any]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    config: dict[str, Any] = data["tool"]["mutmut"]
    return config


def modules() -> list[str]:
    return list(_config()["only_mutate"])


def pure_tests_for(module: str) -> list[str]:
    """The pure test files of the module's folder: ``service/custody/x.py`` → ``tests/custody/``."""
    folder = "tests/" + Path(module).parent.relative_to("service").as_posix() + "/"
    tests = [t for t in _config()["pytest_add_cli_args_test_selection"] if t.startswith(folder)]
    if not tests:
        raise SystemExit(f"no pure test file listed for {module} under {folder}")
    return tests


# -------------------------------------------------------------------------------------------------
# Table and constant mutants


@dataclass(frozen=True)
class TableMutant:
    module: str
    key: str  # "TABLE::drop <entry>" or "NAME::<old> -> <new>", unique within the module
    source: str  # the whole mutated module


@dataclass
class TableResult:
    module: str
    key: str
    status: str  # killed | survived | timeout


def _segment(text: str, offsets: list[int], node: ast.AST) -> tuple[int, int]:
    start = offsets[node.lineno - 1] + _byte_to_char(text, offsets, node.lineno, node.col_offset)
    end_line = node.end_lineno or node.lineno
    end_col = node.end_col_offset or 0
    end = offsets[end_line - 1] + _byte_to_char(text, offsets, end_line, end_col)
    return start, end


def _byte_to_char(text: str, offsets: list[int], lineno: int, col: int) -> int:
    line_start = offsets[lineno - 1]
    line_end = text.find("\n", line_start)
    line = text[line_start : line_end if line_end >= 0 else len(text)]
    return len(line.encode("utf-8")[:col].decode("utf-8"))


def _one_line(text: str) -> str:
    return " ".join(text.split())


class _TableMutator:
    def __init__(self, module: str) -> None:
        self.module = module
        self.text = (ROOT / module).read_text(encoding="utf-8")
        self.offsets = [0]
        for line in self.text.splitlines(keepends=True):
            self.offsets.append(self.offsets[-1] + len(line))
        self.seen: Counter[str] = Counter()

    def span(self, node: ast.AST) -> tuple[int, int]:
        return _segment(self.text, self.offsets, node)

    def src(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.text[start:end]

    def mutants(self) -> Iterator[TableMutant]:
        tree = ast.parse(self.text)
        for statement in tree.body:
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                target, value = statement.targets[0], statement.value
            elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
                target, value = statement.target, statement.value
            else:
                continue
            if not isinstance(target, ast.Name):
                continue
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                yield from self._string(target.id, value)
            else:
                yield from self._walk(target.id, value)

    def _make(self, name: str, what: str, start: int, end: int, new: str) -> TableMutant | None:
        source = self.text[:start] + new + self.text[end:]
        try:
            compile(source, self.module, "exec")
        except SyntaxError:
            return None
        key = f"{name}::{what}"
        self.seen[key] += 1
        if self.seen[key] > 1:
            key = f"{key} #{self.seen[key]}"
        return TableMutant(self.module, key, source)

    def _string(self, name: str, node: ast.Constant) -> Iterator[TableMutant]:
        start, end = self.span(node)
        mutant = self._make(
            name, f"{self.src(node)} -> changed", start, end, repr(f"XX{node.value}XX")
        )
        if mutant:
            yield mutant

    def _walk(self, name: str, node: ast.AST) -> Iterator[TableMutant]:
        """``name`` says where ``node`` sits: ``RULES[Action.store]``, ``_STAGE[State.stored]``."""
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            start, end = self.span(node)
            new = repr(node.value + 1)
            mutant = self._make(name, f"{self.src(node)} -> {new}", start, end, new)
            if mutant:
                yield mutant
        elif isinstance(node, ast.Dict):
            entries = [(k, v) for k, v in zip(node.keys, node.values, strict=True) if k is not None]
            spans = [(self.span(k)[0], self.span(v)[1]) for k, v in entries]
            for i, (k, _) in enumerate(entries):
                yield from self._drop(name, node, spans, i, self.src(k))
            for k, v in entries:
                yield from self._walk(f"{name}[{_one_line(self.src(k))}]", v)
        elif isinstance(node, ast.List | ast.Tuple | ast.Set):
            spans = [self.span(e) for e in node.elts]
            for i, element in enumerate(node.elts):
                yield from self._drop(name, node, spans, i, self.src(element))
            for element in node.elts:
                yield from self._walk(name, element)
        elif isinstance(node, ast.Call):
            function = node.func.attr if isinstance(node.func, ast.Attribute) else None
            for arg in [*node.args, *(kw.value for kw in node.keywords)]:
                if function == "compile" and isinstance(arg, ast.Constant):
                    yield from self._string(name, arg)  # a regular expression
                else:
                    yield from self._walk(name, arg)
        elif isinstance(node, ast.BinOp):
            yield from self._walk(name, node.left)
            yield from self._walk(name, node.right)
        elif isinstance(node, ast.Starred):
            yield from self._walk(name, node.value)

    def _drop(
        self, name: str, container: ast.AST, spans: list[tuple[int, int]], i: int, label: str
    ) -> Iterator[TableMutant]:
        start, end = spans[i]
        if i + 1 < len(spans):
            end = spans[i + 1][0]  # the entry, its comma and the space up to the next one
        elif i > 0:
            start = spans[i - 1][1]  # the last entry: from the previous one's end
        else:
            # The only entry: drop it and a trailing comma, keep the brackets.
            outer_start, outer_end = self.span(container)
            inner = self.text[end:outer_end]
            if inner.lstrip().startswith(","):
                end += inner.index(",") + 1
            if isinstance(container, ast.Set):  # "{}" would be a dict
                start, end = outer_start, outer_end
                mutant = self._make(name, f"drop {_one_line(label)}", start, end, "set()")
                if mutant:
                    yield mutant
                return
        mutant = self._make(name, f"drop {_one_line(label)}", start, end, "")
        if mutant:
            yield mutant


def table_mutants(module: str) -> list[TableMutant]:
    return list(_TableMutator(module).mutants())


class _MutatedModule(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves one module from mutated source instead of its file."""

    def __init__(self, name: str, path: Path, source: str) -> None:
        self.name, self.path, self.source = name, path, source

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.name:
            return None
        return importlib.util.spec_from_loader(fullname, self, origin=str(self.path))

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        module.__file__ = str(self.path)
        exec(compile(self.source, str(self.path), "exec"), module.__dict__)


def _pytest_args() -> list[str]:
    return [*_config()["pytest_add_cli_args"], "-x", "-q", "-p", "no:randomly"]


def _preload() -> None:
    """What mutmut's fork server imports: third-party libraries and project modules that import
    none of the mutated ones, so each forked run imports only the module under test afresh."""
    for line in (ROOT / _config()["preload_modules_file"]).read_text().splitlines():
        name = line.strip()
        if name and not name.startswith("#"):
            importlib.import_module(name)
    loaded = {m.removesuffix(".py").replace("/", ".") for m in modules()} & set(sys.modules)
    if loaded:
        raise SystemExit(f"the preload imports a mutated module: {sorted(loaded)}")


def _run_child(mutant: TableMutant, tests: list[str], quiet: bool) -> None:
    import pytest

    resource.setrlimit(resource.RLIMIT_CPU, (CPU_LIMIT_SECONDS, CPU_LIMIT_SECONDS + 1))
    if quiet:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
    name = mutant.module.removesuffix(".py").replace("/", ".")
    sys.meta_path.insert(0, _MutatedModule(name, ROOT / mutant.module, mutant.source))
    code = int(pytest.main([*_pytest_args(), *tests]))
    os._exit(code)


def run_tables(*, max_children: int, only: str | None, quiet: bool = True) -> list[TableResult]:
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    _preload()
    todo = [
        (mutant, pure_tests_for(module))
        for module in modules()
        if only is None or module == only
        for mutant in table_mutants(module)
    ]
    print(f"table and constant mutants: {len(todo)}", flush=True)
    running: dict[int, tuple[TableMutant, float]] = {}
    results: list[TableResult] = []

    def reap(block: bool) -> None:
        while running:
            for pid, (_, started) in list(running.items()):
                if time.monotonic() - started > WALL_LIMIT_SECONDS:
                    os.kill(pid, signal.SIGKILL)
            pid, status = os.waitpid(-1, 0 if block else os.WNOHANG)
            if pid == 0:
                return
            mutant, _ = running.pop(pid)
            code = os.waitstatus_to_exitcode(status)
            timeout = code in (-signal.SIGXCPU, -signal.SIGKILL)
            outcome = "survived" if code == 0 else "timeout" if timeout else "killed"
            if code in (2, 3, 4):  # interrupted, internal error, usage error: not a verdict
                raise SystemExit(f"pytest could not run for {mutant.module} {mutant.key}")
            results.append(TableResult(mutant.module, mutant.key, outcome))
            mark = "." if outcome != "survived" else "S"
            print(mark, end="", flush=True)
            if not block:
                return

    for mutant, tests in todo:
        while len(running) >= max_children:
            reap(block=True)
        pid = os.fork()
        if pid == 0:
            _run_child(mutant, tests, quiet)
        running[pid] = (mutant, time.monotonic())
    while running:
        reap(block=True)
    print()
    MUTANTS.mkdir(exist_ok=True)
    TABLE_RESULTS.write_text(json.dumps([asdict(r) for r in results], indent=1, ensure_ascii=False))
    return results


# -------------------------------------------------------------------------------------------------
# Report


@dataclass(frozen=True)
class Outcome:
    module: str
    tool: str  # mutmut | tables
    key: str  # what the equivalents file names
    name: str  # mutmut's mutant name, or the table key
    status: str

    @property
    def killed(self) -> bool:
        return self.status in ("killed", "timeout", "segfault", "caught by type check", "error")


def _function_of(mutant_name: str) -> str:
    # service.custody.machine.x_next_state__mutmut_12 -> next_state;
    # ...xǁTransitionErrorǁ__init____mutmut_1 -> TransitionError.__init__
    tail = mutant_name.rsplit(".", 1)[-1].rsplit("__mutmut_", 1)[0]
    if tail.startswith("xǁ"):
        return ".".join(part for part in tail[2:].split("ǁ") if part)
    return tail.removeprefix("x_")


def _describe(diff: str) -> tuple[str, str]:
    """A mutant as ``old => new`` (its changed lines), and the line of code just before it."""
    removed, added, before = [], [], ""
    for line in diff.splitlines()[2:]:
        if line.startswith("-"):
            removed.append(line[1:].strip())
        elif line.startswith("+"):
            added.append(line[1:].strip())
        elif not removed and not added and line.strip() and not line.startswith("@@"):
            before = line.strip()
    return f"{' / '.join(removed)} => {' / '.join(added) or '(removed)'}", before


def mutmut_outcomes() -> list[Outcome]:
    """mutmut's verdicts, each keyed ``function::old => new`` (plus ``@ the line before`` when
    one function has two such mutants), which stays true when the mutants are renumbered."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant
    from mutmut.stats import status_by_exit_code

    os.chdir(ROOT)
    outcomes: list[Outcome] = []
    for module in modules():
        meta = MUTANTS / (module + ".meta")
        if not meta.exists():
            raise SystemExit(f"no mutmut results for {module}: run `mutmut run` first")
        codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
        described = {}
        for name in codes:
            change, before = _describe(get_diff_for_mutant(name, path=module))
            described[name] = (f"{_function_of(name)}::{change}", before)
        counts = Counter(key for key, _ in described.values())
        for name, code in codes.items():
            key, before = described[name]
            if counts[key] > 1:
                key = f"{key} @ {before}"
            # mutmut files a test run that raised (exit 255) under "timeout"; keep it apart.
            status = "error" if code == 255 else status_by_exit_code[code]
            outcomes.append(Outcome(module, "mutmut", key, name, status))
    return outcomes


def table_outcomes() -> list[Outcome]:
    if not TABLE_RESULTS.exists():
        raise SystemExit("no table results: run `python tools/mutation.py tables` first")
    return [
        Outcome(r["module"], "tables", r["key"], r["key"], r["status"])
        for r in json.loads(TABLE_RESULTS.read_text())
    ]


def load_equivalents() -> dict[tuple[str, str], str]:
    """``path::function-or-table::mutated code -- reason`` per line."""
    found: dict[tuple[str, str], str] = {}
    for number, raw in enumerate(EQUIVALENTS.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        entry, sep, reason = line.rpartition(" -- ")
        module, _, key = entry.partition("::")
        if not sep or not key or not reason.strip():
            raise SystemExit(f"{EQUIVALENTS.name}:{number}: want 'path::key -- reason'")
        found[(module.strip(), key.strip())] = reason.strip()
    return found


def report(*, show_survivors: bool) -> bool:
    outcomes = mutmut_outcomes() + table_outcomes()
    equivalents = load_equivalents()
    used: set[tuple[str, str]] = set()
    ok = True
    header = (
        f"{'module':<36} {'mutants':>7} {'equiv.':>6} {'killed':>6} {'survived':>8} {'score':>7}"
    )
    print()
    print(header)
    print("-" * len(header))
    survivors: list[Outcome] = []
    for module in modules():
        mine = [o for o in outcomes if o.module == module]
        equivalent = [o for o in mine if (module, o.key) in equivalents]
        used |= {(module, o.key) for o in equivalent}
        counted = [o for o in mine if (module, o.key) not in equivalents]
        killed = sum(o.killed for o in counted)
        score = 100.0 * killed / len(counted) if counted else 100.0
        ok &= score >= TARGET
        survivors += [o for o in counted if not o.killed]
        print(
            f"{module:<36} {len(mine):>7} {len(equivalent):>6} {killed:>6} "
            f"{len(counted) - killed:>8} {score:>6.1f}%"
        )
    chain = [
        o
        for o in outcomes
        if o.module.endswith("custody/chain.py") and o.key.startswith("HASHED_FIELDS::drop ")
    ]
    if chain:
        killed = sum(o.killed for o in chain)
        print(f"{'  hash chain field coverage':<36} {len(chain):>7} {'':>6} {killed:>6} "
              f"{len(chain) - killed:>8} {100.0 * killed / len(chain):>6.1f}%")  # fmt: skip
        ok &= killed == len(chain)
    stale = sorted(set(equivalents) - used)
    for module, key in stale:
        print(f"stale equivalent (matches no mutant): {module}::{key}")
    errors = [o for o in outcomes if o.status == "error"]
    if errors:
        print(
            f"\n{len(errors)} mutants are counted as killed because the test run could not start "
            "(a mutant that breaks importing the module does that; so do test ids that change "
            "from run to run, which would be a fault of the tests):"
        )
        for o in errors:
            print(f"  {o.module}::{o.key}    [{o.name}]")
    if show_survivors and survivors:
        print("\nsurviving mutants (kill them with a test, or list them as equivalent):")
        for o in survivors:
            print(f"  {o.module}::{o.key}    [{o.tool} {o.status}: {o.name}]")
    print(
        f"\ntarget: {TARGET:g} % per module over non-equivalent mutants, 100 % on the hashed "
        f"fields: {'met' if ok and not stale else 'NOT met'}"
    )
    return ok and not stale


def run_mutmut(max_children: int) -> None:
    shutil.rmtree(MUTANTS, ignore_errors=True)  # results of older code would be read as current
    mutmut = Path(sys.executable).parent / "mutmut"
    subprocess.run([str(mutmut), "run", "--max-children", str(max_children)], check=True, cwd=ROOT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("all", "tables"):
        p = sub.add_parser(name)
        p.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
        if name == "tables":
            p.add_argument("--only", help="one module path, e.g. service/custody/chain.py")
            p.add_argument("--verbose", action="store_true", help="show pytest's output")
    p = sub.add_parser("report")
    p.add_argument("--survivors", action="store_true", help="list the surviving mutants")
    args = parser.parse_args(argv)

    if args.command == "tables":
        run_tables(max_children=args.max_children, only=args.only, quiet=not args.verbose)
        return 0
    if args.command == "report":
        return 0 if report(show_survivors=args.survivors) else 1
    run_mutmut(args.max_children)
    # The table runs fork from this process; mutmut's results are read after, in a fresh one.
    run_tables(max_children=args.max_children, only=None)
    return subprocess.run([sys.executable, __file__, "report", "--survivors"], cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main())
