"""The project code a function runs: its module and every project module it imports.

``IncrementalRunner`` fingerprints a node's code. The node function's own
file is not enough: a training node lives in ``training/nodes.py`` but its
model is built in ``core/architectures.py`` and fitted in
``training/fitting.py``, so an edit there must re-run it too. The closure
follows ``import`` statements (module level and inside functions, absolute
and relative) that name modules of the same top-level package, transitively;
third-party code counts through the run environment, not here.

Each module counts by its syntax tree without docstrings, so editing a
comment, a docstring or the formatting re-runs nothing.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
from functools import lru_cache
from pathlib import Path


def module_closure(module: str) -> dict[str, Path]:
    """``module`` and the same-package modules it imports, transitively, with their files."""
    package = module.split(".", maxsplit=1)[0]
    found: dict[str, Path] = {}
    pending = [module]
    while pending:
        name = pending.pop()
        if name in found:
            continue
        path = _module_file(name)
        if path is None:
            continue
        found[name] = path
        pending.extend(
            imported
            for imported in _imports(name, path.read_bytes(), _is_package(path))
            if imported.split(".")[0] == package and imported not in found
        )
    return dict(sorted(found.items()))


def closure_digest(module: str) -> str:
    """Digest of the code of ``module``'s closure (comments and docstrings excluded)."""
    digest = hashlib.sha256()
    for name, path in module_closure(module).items():
        digest.update(f"{name}\0{_code_digest(path.read_bytes())}\0".encode())
    return digest.hexdigest()[:20]


def _module_file(name: str) -> Path | None:
    """The source file of module ``name``, found without importing it (a
    submodule's ``find_spec`` would run its parents' imports)."""
    top, _, rest = name.partition(".")
    root = _package_root(top)
    if root is None:
        return None
    base = root.joinpath(*rest.split(".")) if rest else root
    for path in (base / "__init__.py", base.with_suffix(".py")):
        if path.is_file():
            return path
    return None


@lru_cache(maxsize=64)
def _package_root(top: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


@lru_cache(maxsize=512)
def _imports(module: str, source: bytes, is_package: bool) -> frozenset[str]:
    """Modules named by ``module``'s import statements (a name imported from a
    package counts as its submodule where one exists)."""
    tree = ast.parse(source)
    package = module if is_package else module.rpartition(".")[0]
    names: set[str] = set()
    for statement in ast.walk(tree):
        if isinstance(statement, ast.Import):
            names.update(alias.name for alias in statement.names)
        elif isinstance(statement, ast.ImportFrom):
            base = _absolute(statement.module, statement.level, package)
            if base is None:
                continue
            names.add(base)
            for alias in statement.names:
                candidate = f"{base}.{alias.name}"
                if alias.name != "*" and _module_file(candidate) is not None:
                    names.add(candidate)
    # importing ``a.b.c`` runs ``a`` and ``a.b`` too
    parents = {
        ".".join(name.split(".")[:depth])
        for name in names
        for depth in range(1, name.count(".") + 1)
    }
    return frozenset(names | parents)


def _absolute(module: str | None, level: int, package: str) -> str | None:
    if level == 0:
        return module
    parts = package.split(".")
    if level - 1 > len(parts) - 1:
        return None
    base = ".".join(parts[: len(parts) - (level - 1)])
    return f"{base}.{module}" if module else base


@lru_cache(maxsize=512)
def _code_digest(source: bytes) -> str:
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(
                node,
                (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef),
            )
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return hashlib.sha256(ast.dump(tree).encode()).hexdigest()[:20]
