"""sqlfluff plugin: the dbt templater, with our package injected the way `dbt-py` injects it.

`dbt-py` swaps dbt's `get_context_modules` for one that adds the packages listed under `[tool.dbt-py]` in
pyproject.toml. sqlfluff's dbt templater runs dbt in-process, so without the same swap every model that calls
`modules.segments` fails to template. Select it in `.sqlfluff` with `templater = dbt_py`.
"""

from __future__ import annotations

import functools
from pathlib import Path

import dbt.context.base
from dbt_py.config import load_config
from dbt_py.main import _get_context_modules_shim
from sqlfluff.core.plugin import hookimpl
from sqlfluff_templater_dbt.templater import DbtTemplater

from python_jobs import PROJECT_ROOT


def inject_dbt_py_modules(project_root: Path = PROJECT_ROOT) -> None:
    """Make `modules.<name>` available in dbt's Jinja context, exactly as the `dbt-py` command does."""
    config = load_config(project_root)
    dbt.context.base.get_context_modules = functools.partial(
        _get_context_modules_shim, packages=config.hashable_packages
    )


class DbtPyTemplater(DbtTemplater):
    """The dbt templater with the dbt-py injection in place."""

    name = "dbt_py"

    def __init__(self, **kwargs):
        inject_dbt_py_modules()
        super().__init__(**kwargs)


@hookimpl
def get_templaters():
    return [DbtPyTemplater]
