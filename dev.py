#!/usr/bin/env python3
"""Set-up and the two everyday commands, with nothing but python3 on the machine.

    python3 dev.py demo    # install into .venv, generate demo data, build everything on DuckDB
    python3 dev.py test    # install into .venv, then lint, pytest and dbt build on DuckDB and PostgreSQL,
                           # and beside them the Spark leg (SEGMENTS_TEST_SPARK=0 turns it off)
    python3 dev.py bench   # (see `segments bench --help` once issue 3 lands)

The first run creates `.venv` and installs the CPU build of torch, then the project with
`pip install -e '.[dev,embeddings,spark]'`; later runs reinstall only
when pyproject.toml changed. Standard library only: this file runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
# Packages installed only for data they ship, without their dependencies: `lifetimes` carries the CDNOW sample
# the CLV tests reproduce the published BG/NBD and Gamma-Gamma estimates on.
DATA_PACKAGES = ("lifetimes==0.11.3",)
# Installed before the project's `embeddings` extra: this pin takes the CPU build (from the local index on the
# project's machines); left to the extra's plain `torch` requirement, pip would fetch a CUDA build of several GB.
TORCH_CPU = "torch==2.13.0"
# The Spark leg: 2,000 customers through the models the clustering job reads, the job, the models on its output
# and their dbt tests, and the SQL assignment checked against numpy, on one local Spark session.
SPARK_LEG = (
    "tests/python_jobs/warehouse/test_spark_leg.py",
    "tests/python_jobs/segmentation/test_sql_assignment.py::test_sql_assignment_equals_python_nearest_centroid[spark]",
)
# Spark tuned for a few thousand rows: dbt threads overlap statements, one shuffle partition, and no adaptive
# re-planning or generated code, which cost more per statement than they save on data this small.
SPARK_LEG_ENV = {
    "SEGMENTS_TEST_SPARK": "1",
    "SEGMENTS_SPARK_THREADS": "4",
    "SEGMENTS_SPARK_SHUFFLE_PARTITIONS": "1",
    "SEGMENTS_SPARK_ADAPTIVE": "false",
    "SEGMENTS_SPARK_CODEGEN": "false",
    "SEGMENTS_SPARK_CATALOG": "in-memory",
}


def banner(text: str) -> None:
    print(f"\n=== {text} ===", flush=True)


def ensure_venv() -> None:
    """Create .venv and install the project into it, unless it is already up to date."""
    recipe = (ROOT / "pyproject.toml").read_bytes() + " ".join((*DATA_PACKAGES, TORCH_CPU)).encode()
    digest = hashlib.sha256(recipe).hexdigest()[:16]
    stamp = VENV / f".installed-{digest}"
    if stamp.exists():
        return
    banner("Installing into .venv (first run, or pyproject.toml changed)")
    if not PYTHON.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", TORCH_CPU], check=True, cwd=ROOT)
    # `embeddings` too, so the tests run both embedding backends (TF-IDF and MiniLM); `spark` for the Spark leg.
    subprocess.run(
        [str(PYTHON), "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[dev,embeddings,spark]"],
        check=True,
        cwd=ROOT,
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


BROWSER_BINARIES = (Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver"))


def ensure_debian_packages(purpose: str, present: bool, packages: tuple[str, ...]) -> str | None:
    """Install Debian `packages` (for `purpose`) when they are missing and this machine can: apt-get, as root,
    after `apt-get update`. None when they are there; else why not, for the banner."""
    if present:
        return None
    names = " ".join(packages)
    if not shutil.which("apt-get") or not hasattr(os, "geteuid") or os.geteuid() != 0:
        return f"{names} missing and this machine cannot install it here (needs apt-get as root)"
    banner(f"Installing {names} ({purpose})")
    quiet = {"stdout": subprocess.DEVNULL, "env": {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}}
    installed = (
        subprocess.run(["apt-get", "update", "-qq"], **quiet).returncode == 0
        and subprocess.run(["apt-get", "install", "-y", "-qq", *packages], **quiet).returncode == 0
    )
    return None if installed else f"installing {names} with apt-get failed"


def ensure_browser() -> str | None:
    """Debian's chromium and chromedriver, for the report's browser test."""
    problem = ensure_debian_packages(
        "the report's browser test",
        all(binary.exists() for binary in BROWSER_BINARIES),
        ("chromium", "chromium-driver"),
    )
    if problem is None and not all(binary.exists() for binary in BROWSER_BINARIES):
        return "chromium-driver installed, but /usr/bin/chromium or /usr/bin/chromedriver is still missing"
    return problem


def ensure_java() -> str | None:
    """A Java runtime, which pyspark (the `spark` target) runs on."""
    return ensure_debian_packages(
        "the spark target's Java runtime", shutil.which("java") is not None, ("openjdk-17-jre-headless",)
    )


def warn(what: str, problem: str, remedy: str) -> None:
    print("\n" + "!" * 78)
    print(f"!! {what}")
    print(f"!! reason: {problem}")
    print(f"!! {remedy}")
    print("!" * 78)


def start_spark_leg(missing) -> tuple[subprocess.Popen, Path, float] | None:
    """Start the Spark leg in the background (its output to a file), unless SEGMENTS_TEST_SPARK=0 or Java is
    missing; the process, its log and its start time."""
    if os.environ.get("SEGMENTS_TEST_SPARK") == "0":
        print("\n(the Spark leg is off: SEGMENTS_TEST_SPARK=0)")
        return None
    java_problem = ensure_java()
    if java_problem:
        missing(
            "Java is NOT available: the Spark leg will be SKIPPED.",
            java_problem,
            "Debian: apt-get install openjdk-17-jre-headless",
            "SEGMENTS_REQUIRE_SPARK",
            "Java installed",
        )
        return None
    args = [str(PYTHON), "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider", *SPARK_LEG]
    print("\n(the Spark leg starts in the background: " + " ".join(args) + ")", flush=True)
    log = Path(tempfile.mkstemp(prefix="segments-spark-leg-", suffix=".log")[1])
    with log.open("w") as output:
        process = subprocess.Popen(
            args, cwd=ROOT, env={**os.environ, **SPARK_LEG_ENV}, stdout=output, stderr=subprocess.STDOUT
        )
    return process, log, time.time()


def finish_spark_leg(process: subprocess.Popen, log: Path, started: float) -> tuple[str, bool]:
    """Wait for the Spark leg, show its output, and say how long it took."""
    name = "pytest (Spark leg, 2,000 customers)"
    banner(name)
    ok = process.wait() == 0
    # The leg usually ends before the main pytest does: its time is up to its log's last line, not up to now.
    took = log.stat().st_mtime - started
    print(log.read_text(errors="replace"), end="")
    log.unlink(missing_ok=True)
    print(
        f"--- {name}: {'passed' if ok else 'FAILED'} in {took:.0f}s (its own wall time, beside the steps above)"
    )
    return name, ok


def test() -> int:
    steps: list[tuple[str, bool]] = []

    def step(name: str, args: list[str], env: dict[str, str] | None = None) -> None:
        banner(name)
        started = time.perf_counter()
        ok = run(args, env)
        print(f"--- {name}: {'passed' if ok else 'FAILED'} in {time.perf_counter() - started:.0f}s")
        steps.append((name, ok))

    def missing(what: str, problem: str, remedy: str, required_by: str, requirement: str) -> None:
        """Say what will be skipped and why; a failed step when $required_by=1 says it must not be."""
        warn(what, problem, remedy)
        if os.environ.get(required_by) == "1":
            steps.append((f"{requirement} ({required_by}=1)", False))

    reachable, detail = postgres_status()
    if not reachable:
        missing(
            "PostgreSQL is NOT reachable: the PostgreSQL half of the suite will be SKIPPED.",
            detail,
            "Set PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE to point at a server to run it.",
            "SEGMENTS_REQUIRE_POSTGRES",
            "PostgreSQL reachable",
        )

    browser_problem = ensure_browser()
    if browser_problem:
        missing(
            "chromium is NOT available: the report's browser test will be SKIPPED.",
            browser_problem,
            "Debian: apt-get install chromium chromium-driver",
            "SEGMENTS_REQUIRE_BROWSER",
            "chromium installed",
        )

    # The Spark leg runs beside the rest (its own process: one Spark driver), from the first step on: much of its
    # time is the JVM's start, dbt's parse and one-row-at-a-time statements, which leave a core free for the rest.
    spark_leg = start_spark_leg(missing)

    try:
        step("ruff check", [str(BIN / "ruff"), "check", "."])
        step("ruff format --check", [str(BIN / "ruff"), "format", "--check", "."])
        with tempfile.TemporaryDirectory(prefix="segments-lint-") as lint_dir:
            # The dbt templater compiles the project; give it a DuckDB file of its own.
            step(
                "sqlfluff lint",
                [str(BIN / "sqlfluff"), "lint", "models", "tests/dbt", "--processes", "2"],
                env={"SEGMENTS_DUCKDB_PATH": str(Path(lint_dir) / "lint.duckdb")},
            )
        # pytest builds each target's warehouse once with the real `segments generate` and `segments build` (every
        # model, data test and unit test, and the jobs between them) and shares it: see tests/conftest.py.
        step(
            "pytest (DuckDB and PostgreSQL)",
            [str(PYTHON), "-m", "pytest", "-q"],
            {"SEGMENTS_TEST_SPARK": "0"},
        )
    except BaseException:
        # Interrupted: the leg must not outlive the command.
        if spark_leg is not None:
            spark_leg[0].kill()
        raise
    if spark_leg is not None:
        steps.append(finish_spark_leg(*spark_leg))

    banner("Summary")
    for name, ok in steps:
        print(f"  {'passed' if ok else 'FAILED'}  {name}")
    failed = sum(1 for _, ok in steps if not ok)
    print(f"steps: {len(steps) - failed} passed, {failed} failed")
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
