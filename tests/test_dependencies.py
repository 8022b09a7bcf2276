"""What the station imports comes with `make install` (the runtime dependencies), not only with the
test extras: pypdf was a test extra while the invoice checks imported it, so the embedded station's
invoice step failed with ModuleNotFoundError and every test passed."""

import ast
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent


def _imported_top_level_modules() -> set[str]:
    found = set()
    for path in (ROOT / "fulfillment").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"fulfillment", "__future__"}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _runtime_closure() -> set[str]:
    """The runtime dependencies of pyproject.toml and everything they require in turn (their extras too)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    todo = [Requirement(text) for text in project["dependencies"]]
    seen: set[str] = set()
    while todo:
        requirement = todo.pop()
        name = _normal(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        for text in metadata.requires(requirement.name) or []:
            needed = Requirement(text)
            if needed.marker is None or any(needed.marker.evaluate({"extra": extra})
                                            for extra in {"", *requirement.extras}):
                todo.append(needed)
    return seen


def test_every_module_the_station_imports_is_a_runtime_dependency():
    distributions = metadata.packages_distributions()
    runtime = _runtime_closure()
    missing = {module: distributions.get(module) for module in _imported_top_level_modules()
               if not {_normal(d) for d in distributions.get(module, [])} & runtime}
    assert not missing, f"imported by fulfillment/ but not installed by `make install`: {missing}"
