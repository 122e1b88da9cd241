"""`segments bench --target spark`'s report: each stage's ratio to DuckDB's, and how many customers the two
targets put in the same segment (the figures are worked out by hand here)."""

import re

import pyarrow as pa
from click.testing import CliRunner

from python_jobs.bench.customers import BenchRun, _ratio_table, same_segment_counts
from python_jobs.cli import main

SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("axis_name", pa.string()),
        ("segment_id", pa.int64()),
        ("segment_name", pa.string()),
    ]
)


def assignment(rows):
    return pa.Table.from_pylist([dict(zip(SCHEMA.names, row, strict=True)) for row in rows], schema=SCHEMA)


def test_same_segment_needs_the_same_id_and_name_and_a_customer_on_both_sides():
    duckdb = assignment(
        [
            ("c1", "purchase_value", 1, "high_value"),
            ("c2", "purchase_value", 2, "low_value"),
            ("c3", "purchase_value", None, "no_orders_yet"),  # an explicit group: no id, the name must match
            ("c4", "purchase_value", 1, "high_value"),  # only on DuckDB
            ("c1", "return_behaviour", None, "no_returns"),
            ("c2", "return_behaviour", None, "no_returns"),
        ]
    )
    spark = assignment(
        [
            ("c1", "purchase_value", 1, "high_value"),
            ("c2", "purchase_value", 1, "high_value"),  # another segment
            ("c3", "purchase_value", None, "no_orders_yet"),
            ("c5", "purchase_value", 2, "low_value"),  # only on Spark
            ("c1", "return_behaviour", None, "no_returns"),
            ("c2", "return_behaviour", None, "one_time_buyer"),  # same (null) id, another explicit group
        ]
    )
    assert same_segment_counts(duckdb, spark) == {"purchase_value": (2, 5), "return_behaviour": (1, 2)}


def run(features, clv, fit, assignment_seconds, marts, generate, peak_gib, load=None):
    seconds = dict(
        zip(
            ("features", "clv fit", "sample + fit", "assignment", "marts"),
            (features, clv, fit, assignment_seconds, marts),
            strict=True,
        )
    )
    return BenchRun(
        seconds=seconds, generate_seconds=generate, peak_bytes=int(peak_gib * 2**30), load_average=load
    )


def test_the_ratio_table_divides_the_medians_of_each_stage():
    duckdb = [run(10, 1, 5, 2, 2, 4, 1.0), run(12, 1, 5, 4, 2, 6, 1.5), run(30, 1, 5, 2, 2, 5, 2.0)]
    spark = [
        run(60, 4, 10, 20, 10, 40, 6.0),
        run(70, 4, 10, 30, 10, 50, 8.0),
        run(65, 4, 10, 25, 10, 45, 7.0),
    ]
    lines = _ratio_table("spark", spark, "local", duckdb)
    rows = {label: values for label, *values in (re.split(r"\s{2,}", line.strip()) for line in lines[1:])}
    # medians: features 12 vs 65; end to end (sums 20, 24, 40 vs 104, 124, 114) 24 vs 114
    assert rows["features"] == ["12.0s", "65.0s", "5.4x"]
    assert rows["assignment"] == ["2.0s", "25.0s", "12.5x"]
    assert rows["end to end"] == ["24.0s", "114.0s", "4.8x"]
    assert rows["(generate, not counted)"] == ["5.0s", "45.0s", "9.0x"]
    assert rows["peak memory"] == ["1.50GB", "7.00GB", "4.7x"]


def test_bench_takes_spark_and_says_what_it_compares():
    result = CliRunner().invoke(main, ["bench", "--help"])
    assert result.exit_code == 0
    assert "spark" in result.output
    assert "Spark / DuckDB ratio" in " ".join(result.output.split())


def test_the_load_the_runs_saw_is_shown_when_every_run_has_it():
    duckdb = [run(10, 1, 5, 2, 2, 4, 1.0, load=0.5), run(12, 1, 5, 4, 2, 6, 1.5, load=3.0)]
    spark = [run(60, 4, 10, 20, 10, 40, 6.0, load=1.0), run(70, 4, 10, 30, 10, 50, 8.0, load=2.0)]
    assert _ratio_table("spark", spark, "local", duckdb)[-1].split() == [
        "load",
        "average",
        "(mean)",
        "1.8",
        "1.5",
    ]
    spark[0].load_average = None
    assert "load average" not in _ratio_table("spark", spark, "local", duckdb)[-1]
