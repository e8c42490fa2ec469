"""The layers of docs/architecture.md, enforced: imports point down, never in a cycle, never at another
module's private names.  Every import counts, including those inside functions."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = "tokendoctor"

#: Lowest first.  A module may import modules of its own layer or below, nothing above.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("data and time", ("__init__", "models", "timefmt", "limits", "redact", "catalogue", "exitcodes", "deadline")),
    ("the seam", ("files", "context", "botocore_env", "target")),
    ("probes", ("probes", "supervise")),
    ("analysis", ("chain", "sdk_chains", "explain", "summarize", "stderrwatch", "inprocess")),
    ("engine", ("runner", "reporter")),
    ("checks", ("checks",)),
    ("pipeline", ("pipeline",)),
    ("render", ("render",)),
    ("front ends", ("cli", "__main__", "jobrun", "hook", "api", "resources")),  # resources: run's sitecustomize
)  # fmt: skip

#: The package's namespace re-exports the Python API (docs/python-api.md): ``tokendoctor.diagnose``
#: imports ``tokendoctor.api`` when called.  The only import allowed to point up.
REEXPORTS: frozenset[tuple[str, str]] = frozenset({(PACKAGE, f"{PACKAGE}.api")})


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _layer(module: str) -> int:
    rest = module.split(".")[1:] or ["__init__"]
    for index, (_, members) in enumerate(LAYERS):
        if rest[0] in members:
            return index
    raise AssertionError(f"{module} is in no layer: add it to LAYERS and docs/architecture.md")


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    is_package = MODULES[module].name == "__init__.py"
    base = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
    return ".".join([*base, node.module] if node.module else base)


def _imports(module: str) -> Iterator[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) for every tokendoctor import in ``module``."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE:
                    yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            if target.split(".")[0] != PACKAGE:
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in MODULES:
                    yield sub, None, node.lineno
                else:
                    yield target, alias.name, node.lineno


def _edges() -> dict[str, set[str]]:
    return {m: {t for t, _, _ in _imports(m) if t in MODULES and t != m} for m in MODULES}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down(module: str) -> None:
    mine = _layer(module)
    for target, _, line in _imports(module):
        if target in MODULES and (module, target) not in REEXPORTS:
            assert _layer(target) <= mine, (
                f"{module}:{line} imports {target} ({LAYERS[_layer(target)][0]}), above its own layer "
                f"({LAYERS[mine][0]})"
            )


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_private_names_across_modules(module: str) -> None:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                aliases[alias.asname or alias.name.split(".")[0]] = alias.name
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            for alias in node.names:
                if f"{target}.{alias.name}" in MODULES:
                    aliases[alias.asname or alias.name] = f"{target}.{alias.name}"
    for target, name, line in _imports(module):
        assert not (name and name.startswith("_") and name != "__version__"), f"{module}:{line} imports {target}.{name}"
    imported_modules = {local for local, full in aliases.items() if full.split(".")[0] == PACKAGE}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in imported_modules:
            attr = node.attr
            assert not (attr.startswith("_") and not attr.startswith("__")), (
                f"{module}:{node.lineno} uses {node.value.id}.{attr}, another module's private name"
            )


def test_no_import_cycles() -> None:
    edges = _edges()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if nxt.startswith(node + "."):  # a package importing its own submodules is not a cycle
                continue
            if state.get(nxt) == 1 and not node.startswith(nxt + "."):
                cycle = stack[stack.index(nxt) :] + [nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module)


def test_every_check_module_is_registered_and_has_its_test_module() -> None:
    from tokendoctor.checks import ALL_CHECKS

    registered = {check.run.__module__ for check in ALL_CHECKS}
    modules = {m for m in MODULES if m.startswith(f"{PACKAGE}.checks.")}
    assert modules == registered, "checks/ holds exactly the registered checks"
    tests = Path(__file__).parent
    for module in sorted(modules):
        name = module.rsplit(".", 1)[1]
        assert (tests / f"test_check_{name}.py").exists(), f"{module} has no tests/test_check_{name}.py"


def test_private_botocore_attributes_only_in_the_adapter() -> None:
    """``x._name`` on anything but ``self``/``cls`` is a private attribute of someone else's object: in
    this package that means botocore's, and those belong in chain/botocore_private.py."""
    adapter = f"{PACKAGE}.chain.botocore_private"
    for module, path in MODULES.items():
        if module == adapter:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                owner = node.value.id if isinstance(node.value, ast.Name) else None
                if (owner, node.attr) == ("os", "_exit"):  # the standard library's, public despite the name
                    continue
                assert owner in ("self", "cls"), f"{module}:{node.lineno} reads .{node.attr}: move it to {adapter}"


def test_every_cause_names_the_check_that_emits_it() -> None:
    """From a cause code to its check, its test module and its doc row, without grep."""
    from tokendoctor.catalogue import CAUSES
    from tokendoctor.checks import ALL_CHECKS

    names = {check.name for check in ALL_CHECKS}
    docs = (SRC.parent / "docs" / "causes.md").read_text(encoding="utf-8")
    for cause in CAUSES.values():
        if cause.check == "runner":
            sources = [MODULES[f"{PACKAGE}.runner"]]
        elif cause.check == "inprocess":  # the hook's records, turned into findings for run and the API
            sources = [MODULES[f"{PACKAGE}.inprocess"]]
        elif cause.check == "explain":  # explain-only: read from pasted text, no check emits it
            sources = [p for m, p in MODULES.items() if m.split(".")[:2] == [PACKAGE, "explain"]]
        else:
            assert cause.check in names, f"{cause.code} names {cause.check!r}, which is not a registered check"
            sources = [MODULES[f"{PACKAGE}.checks.{cause.check}"]]
            if cause.check == "credentials":  # the chain analysis reports its findings through this check
                sources += [p for m, p in MODULES.items() if m.startswith(f"{PACKAGE}.chain.")]
            assert (Path(__file__).parent / f"test_check_{cause.check}.py").exists()
        emitted = any(f'"{cause.code}"' in path.read_text(encoding="utf-8") for path in sources)
        assert emitted, f"{cause.code} says the {cause.check} check emits it, but its source never does"
        section = docs.split(f"### {cause.code} ", 1)[1].split("\n### ", 1)[0]
        if cause.check == "explain":
            assert "Emitted by: explain" in section, f"docs/causes.md: {cause.code}"
        else:
            assert f"checks/{cause.check}.py" in section or cause.check in ("runner", "inprocess"), (
                f"docs/causes.md: {cause.code}"
            )


def test_files_are_read_only_through_the_bounded_reader() -> None:
    """Every file is read by tokendoctor.files (regular files only, a size cap, a capped read): no other
    module calls open()/os.open() or Path.read_text/read_bytes/open."""
    offenders = []
    for module, path in MODULES.items():
        if module == f"{PACKAGE}.files":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            owner = func.value if isinstance(func, ast.Attribute) else None
            if isinstance(owner, ast.Name) and owner.id == "files":
                continue  # the reader itself
            if node.args and ast.unparse(node.args[0]) == "os.devnull":
                continue  # opening the null device to write nothing
            if len(node.args) > 1 and "O_WRONLY" in ast.unparse(node.args[1]):
                continue  # a write (GitHub's step summary, the hook's record log), never a read
            if name in ("open", "read_text", "read_bytes"):
                offenders.append(f"{module}:{node.lineno} {name}()")
    assert not offenders, "read files through tokendoctor.files: " + ", ".join(offenders)
