"""What the runtime may import: the LLM layer without the Anthropic SDK, and nothing of the test kit.

`python_jobs.testing` (fake servers, responders) is for tests and benchmarks; a runtime module importing it
would ship test code into every command. Checked twice: statically over the source of every runtime module
(so an import inside a function is caught too), and by importing every runtime module in a fresh interpreter.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "python_jobs"
# Benches may use the test kit; the kit may use itself.
NOT_RUNTIME = ("testing", "bench")


def runtime_modules() -> dict[str, Path]:
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[0] in NOT_RUNTIME:
            continue
        name = ".".join(("python_jobs", *parts)).removesuffix(".__init__")
        modules[name] = path
    return modules


def imported_names(source: str, module: str) -> set[str]:
    """Every module an import statement in `source` names, relative imports resolved against `module`."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")[: -node.level]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names |= {f"{base}.{alias.name}" for alias in node.names}
    return names


def test_the_check_sees_imports_of_every_form():
    source = (
        "import python_jobs.testing.fake_messages_api\n"
        "def later():\n    from python_jobs import testing\n"
        "from ..testing import product_responders\n"
    )
    names = imported_names(source, "python_jobs.product_segmentation.job")
    assert "python_jobs.testing.fake_messages_api" in names
    assert "python_jobs.testing" in names
    assert "python_jobs.testing.product_responders" in names


def test_no_runtime_module_imports_the_test_kit():
    modules = runtime_modules()
    assert "python_jobs.product_segmentation.job" in modules
    assert "python_jobs.llm" in modules
    offenders = {
        module: sorted(n for n in imported_names(path.read_text(), module) if _is_test_kit(n))
        for module, path in modules.items()
    }
    assert {module: names for module, names in offenders.items() if names} == {}


def _is_test_kit(name: str) -> bool:
    return name == "python_jobs.testing" or name.startswith("python_jobs.testing.")


def _loaded_after(statement: str) -> list[str]:
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return json.loads(output)


def test_importing_every_runtime_module_loads_no_test_kit():
    # __main__ runs the command line when imported; what it imports is imported here anyway.
    statement = "\n".join(f"import {m}" for m in runtime_modules() if not m.endswith("__main__"))
    loaded = _loaded_after(statement)
    assert "python_jobs.product_segmentation.job" in loaded
    assert [name for name in loaded if _is_test_kit(name)] == []


@pytest.mark.parametrize(
    "module", ["python_jobs.llm", "python_jobs.product_segmentation.job", "python_jobs.cli"]
)
def test_the_llm_layer_loads_without_the_anthropic_sdk(module):
    loaded = _loaded_after(f"import {module}")
    assert module in loaded
    assert [name for name in loaded if name == "anthropic" or name.startswith("anthropic.")] == []
