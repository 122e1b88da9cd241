"""Large transactions files: read as a stream, with memory that grows with the values kept, and checks across
lines that hold whatever chunk of the file the lines fall in.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from python_jobs.bench.loading import write_export
from python_jobs.ingest.raw_loading import LoadError
from python_jobs.ingest.transaction_lines import CHUNK_LINES
from python_jobs.ingest.transactions import TransactionColumns, check_transactions

COLUMNS = TransactionColumns(customer="customer", date="date", amount="amount", order="order")


def write(directory: Path, lines: list[str]) -> Path:
    path = directory / "export.csv"
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def many_lines(count: int) -> list[str]:
    return ["customer,date,amount,order"] + [
        f"c{i % 997},2024-01-01T10:00:00,{i % 50}.25,o{i}" for i in range(count)
    ]


def test_an_order_spread_over_chunks_is_one_order(tmp_path):
    lines = many_lines(3 * CHUNK_LINES)
    for day, position in enumerate((2, CHUNK_LINES + 7, 3 * CHUNK_LINES - 1), start=1):
        lines[position] = f"c5,2024-01-0{4 - day}T09:00:00,{day}.00,spread"  # the earliest comes last
    checked = check_transactions(write(tmp_path, lines), COLUMNS)

    orders = {row["order_id"]: row for row in checked.tables["orders"].to_pylist()}
    assert orders["spread"]["order_total"] == pytest.approx(6.0)
    assert orders["spread"]["customer_id"] == "c5"
    assert orders["spread"]["ordered_at"].isoformat() == "2024-01-01T09:00:00+00:00"
    assert len(orders) == 3 * CHUNK_LINES - 2


def test_an_order_changing_customer_in_a_later_chunk_names_that_line(tmp_path):
    lines = many_lines(2 * CHUNK_LINES)
    lines[10] = "c1,2024-01-01,1,shared"  # line 11
    lines[CHUNK_LINES + 100] = "c2,2024-01-01,1,shared"  # line CHUNK_LINES + 101

    with pytest.raises(LoadError) as caught:
        check_transactions(write(tmp_path, lines), COLUMNS)

    assert f"line {CHUNK_LINES + 101}, column 'customer': order 'shared' belongs to customer 'c1'" in str(
        caught.value
    )


def test_duplicates_in_different_chunks_are_found(tmp_path):
    lines = many_lines(2 * CHUNK_LINES)
    lines[CHUNK_LINES + 50] = lines[3]  # line CHUNK_LINES + 51 repeats line 4

    with pytest.raises(LoadError, match=f"line {CHUNK_LINES + 51}: the same as line 4"):
        check_transactions(write(tmp_path, lines), COLUMNS)


def test_memory_grows_with_the_values_kept_not_with_python_objects_per_line(tmp_path):
    """The loader's peak memory over its start, in a process of its own, against the file's size.

    Reading 400,000 lines into Python dicts took 18 times the file's size; the streamed reader keeps compact
    columns (about twice the file), plus the work of grouping the orders.
    """
    path, warm_up = tmp_path / "export.csv", tmp_path / "warm-up.csv"
    size = write_export(path, 400_000)
    write_export(warm_up, 1_000)
    probe = textwrap.dedent(
        f"""
        import json, resource
        from pathlib import Path
        from python_jobs.ingest.transactions import TransactionColumns, read_transactions
        columns = TransactionColumns("customer_id", "ordered_at", "amount", "order_id")
        read_transactions(Path({str(warm_up)!r}), columns)  # imports and first allocations
        start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        tables = read_transactions(Path({str(path)!r}), columns)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({{"growth": (peak - start) * 1024, "lines": tables["order_items"].num_rows}}))
        """
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    measured = json.loads(result.stdout)

    assert measured["lines"] == 400_000
    print(f"peak growth {measured['growth'] / size:.1f} times the file")
    assert measured["growth"] < 6 * size, f"{measured['growth'] / size:.1f} times the file"


def test_bench_load_loads_its_generated_file_and_measures_the_process(duckdb_warehouse):
    from python_jobs.bench.loading import report, run_bench

    run = run_bench(2_000, seed=1, target="local", echo=lambda _: None)

    assert "Loaded 2,000 lines as" in run.output
    assert run.peak_bytes > 10 * 2**20  # a Python process with pyarrow and DuckDB, at least
    assert "segments bench-load: 2,000 lines" in report(run, "local")
