"""A dbt process that runs several commands: dbt is imported and the project parsed once, not once per command.

`segments build` runs dbt three or four times, with Python jobs in between; a new `dbt-py` process for each
spends seconds importing dbt and parsing the project again. Inside `dbt_session()` (see dbt_runner), `run_dbt`
hands its commands to one of these processes instead. The process does what `dbt-py` does (dbt's Jinja gets
`modules.segments` and the other packages `[tool.dbt-py]` names) and keeps the parsed manifest of each set of
`--vars` for the next command, as dbt's programmatic interface allows (`dbtRunner(manifest=...)`).

Protocol, one command at a time: a JSON list of dbt arguments on one line of stdin; dbt's output on stdout as
it comes; then the line `DONE_MARKER <exit code>` (0 success, 1 dbt reported a failure, 2 dbt could not run),
the codes of `dbt-py`. End of stdin ends the process. After each command the DuckDB file is closed, so the
Python jobs between two dbt steps can open it.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import importlib
import json
import pathlib
import sys
from typing import Any

from python_jobs import PROJECT_ROOT

DONE_MARKER = "@@segments-dbt-worker-done@@"


def _install_context_modules() -> None:
    """What `dbt-py` does before running dbt: the packages of `[tool.dbt-py]` become `modules.<name>`."""
    import dbt.context.base
    import dbt_py.config

    # `dbt_py.main` is also the name of the package's `main` function; the module is the one to read.
    shim_module = importlib.import_module("dbt_py.main")
    config = dbt_py.config.load_config(pathlib.Path("."))
    dbt.context.base.get_context_modules = functools.partial(
        shim_module._get_context_modules_shim, packages=config.hashable_packages
    )


_context_modules_installed = False


def install_context_modules_once() -> None:
    """`_install_context_modules` for a process that runs dbt in itself; dbt-py reads the project's pyproject.toml."""
    global _context_modules_installed
    if not _context_modules_installed:
        with contextlib.chdir(PROJECT_ROOT):
            _install_context_modules()
        _context_modules_installed = True


def _vars_of(args: list[str]) -> str:
    return args[args.index("--vars") + 1] if "--vars" in args else ""


def _parse_args(args: list[str]) -> list[str]:
    """The options of `args` that matter to a parse (project, profile, target, paths, vars), after `parse`."""
    kept: list[str] = []
    for option in ("--project-dir", "--profiles-dir", "--target", "--target-path", "--log-path", "--vars"):
        if option in args:
            kept += [option, args[args.index(option) + 1]]
    return ["parse", "--quiet", *kept]


def _close_duckdb() -> None:
    """dbt-duckdb keeps its database open between commands of one process; the jobs need the file."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # no DuckDB adapter installed: nothing to close
        return
    DuckDBConnectionManager.close_all_connections()
    gc.collect()


def _exit_code(result: Any) -> int:
    if result.success:
        return 0
    return 1 if result.exception is None else 2


def serve() -> None:
    from dbt.cli.main import dbtRunner

    _install_context_modules()
    manifests: dict[str, Any] = {}
    for line in sys.stdin:
        args = json.loads(line)
        try:
            key = _vars_of(args)
            if args[0] == "parse":
                result = dbtRunner().invoke(args)
                if result.success:
                    manifests[key] = result.result
            else:
                if key not in manifests:
                    parsed = dbtRunner().invoke(_parse_args(args))
                    if parsed.success:
                        manifests[key] = parsed.result
                result = dbtRunner(manifest=manifests.get(key)).invoke(args)
            code = _exit_code(result)
        except Exception as error:  # dbt raised instead of reporting: the command failed, the process goes on
            print(f"dbt failed: {error}", flush=True)
            code = 2
        finally:
            _close_duckdb()
        print(f"{DONE_MARKER} {code}", flush=True)


if __name__ == "__main__":
    serve()
