"""The import direction of ARCHITECTURE.md: `registry` calls `automations`; `automations`
never imports `registry`; `sdk` imports only the shared automation schema of the two."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What sdk may use from `automations`: the wire classes shared with the service.
SHARED_WITH_SDK = {"automations", "automations.schema", "automations.filters"}


def imported_modules(package: str) -> set[tuple[str, str]]:
    """(file, module) for every absolute import in the package."""
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update((str(path.relative_to(ROOT)), alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add((str(path.relative_to(ROOT)), node.module))
    return found


def test_automations_never_imports_registry_or_sdk():
    bad = {
        (path, module)
        for path, module in imported_modules("automations")
        if module.split(".")[0] in ("registry", "sdk")
    }
    assert not bad


def test_sdk_imports_only_the_shared_schema():
    bad = {
        (path, module)
        for path, module in imported_modules("sdk")
        if module.split(".")[0] == "registry"
        or (module.split(".")[0] == "automations" and module not in SHARED_WITH_SDK)
    }
    assert not bad
