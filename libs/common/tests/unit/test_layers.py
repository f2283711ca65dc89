"""What libs/common's lower layers may import: the contracts depend on nothing above them."""

import ast
from pathlib import Path

import sangsaeng_common

ROOT = Path(sangsaeng_common.__file__).parent


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_the_contracts_import_only_the_contracts_from_sangsaeng_common():
    for path in sorted((ROOT / "contracts").glob("*.py")):
        above = {m for m in _imports(path) if m.startswith("sangsaeng_common") and not m.startswith("sangsaeng_common.contracts")}
        assert not above, f"{path.name} imports {sorted(above)}"


def test_the_unit_of_work_reads_no_request_context():
    assert not {m for m in _imports(ROOT / "unit_of_work.py") if m.endswith(("request_context", ".http"))}
