"""Keeping the relations dbt builds before a build, and putting them back, on a real warehouse of each kind.

Hand-made relations stand in for dbt's (a seed-like table in `raw`, a view, tables with constraints in
`intermediate` and `marts`); what happens to them between `keep` and `restore` is what a dbt step that stops
halfway does: some tables replaced with other rows, a view redefined, a table and a schema that did not exist.
"""

from __future__ import annotations

import duckdb
import psycopg2
import pytest

from python_jobs.warehouse.connection import Session, Warehouse, WarehouseError
from python_jobs.warehouse.previous_build import PreviousBuild, Relation, built_relations

CATEGORIES = Relation("raw", "categories")
CUSTOMERS_VIEW = Relation("staging", "stg_customers")
ORDERS = Relation("intermediate", "int_orders")
PROFILES = Relation("marts", "customer_profiles")
NEW_MART = Relation("marts", "customer_scores")
NEW_SCHEMA_MART = Relation("reports", "weekly_report")
CONSTRAINT_ERRORS = (duckdb.ConstraintException, psycopg2.IntegrityError)
RELATIONS = [CATEGORIES, CUSTOMERS_VIEW, ORDERS, PROFILES, NEW_MART, NEW_SCHEMA_MART]


def _setup(session: Session) -> None:
    for schema in ("raw", "staging", "intermediate", "marts", "ml"):
        session.ensure_schema(schema)
    session.execute("create table raw.customers (customer_id varchar, country varchar)")
    session.execute("insert into raw.customers values ('c1', 'DE'), ('c2', 'FR'), ('c3', null)")
    session.execute("create table raw.categories (category varchar not null, department varchar)")
    session.execute("insert into raw.categories values ('lamps', 'home'), ('socks', 'fashion')")
    session.execute("create view staging.stg_customers as select customer_id, country from raw.customers")
    session.execute(
        "create table intermediate.int_orders (order_id varchar, customer_id varchar, amount double precision)"
    )
    session.execute(
        "insert into intermediate.int_orders values ('o1', 'c1', 10.5), ('o2', 'c1', 4.25), ('o3', 'c2', 7.0)"
    )
    session.execute(
        "create table marts.customer_profiles (customer_id varchar not null primary key, "
        "lifetime_value numeric(18, 2), last_order date)"
    )
    session.execute(
        "insert into marts.customer_profiles values ('c1', 14.75, date '2026-01-03'), "
        "('c2', 7.00, date '2026-02-01'), ('c3', null, null)"
    )
    session.execute("create index customer_profiles_by_last_order on marts.customer_profiles (last_order)")
    session.execute("create table ml.runs (run_id varchar, status varchar)")
    session.execute("insert into ml.runs values ('r1', 'succeeded')")


def _what_a_failed_build_does(session: Session) -> None:
    """A dbt step replaced some tables and a view, created new ones, and a job wrote its run; then it stopped."""
    session.execute("drop table marts.customer_profiles")
    session.execute(
        "create table marts.customer_profiles (customer_id varchar, lifetime_value numeric(18, 2))"
    )
    session.execute("insert into marts.customer_profiles values ('c9', 99.00)")
    session.execute("delete from intermediate.int_orders where order_id = 'o2'")
    session.execute("update raw.categories set department = 'garden'")
    session.execute("drop view staging.stg_customers")
    session.execute("create view staging.stg_customers as select customer_id from raw.customers where false")
    session.execute("create table marts.customer_scores as select 1 as score")
    session.execute("create table marts.customer_profiles__dbt_tmp as select 2 as leftover")
    session.ensure_schema("reports")
    session.execute("create table reports.weekly_report as select 3 as week")
    session.execute("insert into ml.runs values ('r2', 'failed')")


def _contents(warehouse: Warehouse) -> dict[str, list]:
    with warehouse.session(read_only=True) as session:
        return {
            "categories": sorted(session.fetchall("select category, department from raw.categories")),
            "customers_view": sorted(session.fetchall("select * from staging.stg_customers"), key=str),
            "orders": sorted(session.fetchall("select * from intermediate.int_orders")),
            "profiles": sorted(session.fetchall("select * from marts.customer_profiles"), key=str),
            "profile_columns": session.column_names("marts", "customer_profiles"),
        }


def _indexes(warehouse: Warehouse) -> list[str]:
    """The names of the indexes on marts.customer_profiles that are not a constraint's own."""
    sql = (
        "select index_name from duckdb_indexes() where schema_name = 'marts' and table_name = 'customer_profiles'"
        if warehouse.kind == "duckdb"
        else "select indexname from pg_indexes where schemaname = 'marts' and tablename = 'customer_profiles' "
        "and indexname not like '%pkey'"
    )
    with warehouse.session(read_only=True) as session:
        return sorted(row[0] for row in session.fetchall(sql))


def _exists(warehouse: Warehouse, relation: Relation) -> bool:
    with warehouse.session(read_only=True) as session:
        return session.table_exists(relation.schema, relation.name)


def _schemas(warehouse: Warehouse) -> set[str]:
    with warehouse.session(read_only=True) as session:
        return {row[0] for row in session.fetchall("select schema_name from information_schema.schemata")}


def test_a_restore_puts_every_relation_back_and_drops_what_the_build_created(warehouse):
    with warehouse.session() as session:
        _setup(session)
    before = _contents(warehouse)
    assert before["profiles"][0][0] == "c1"
    assert _indexes(warehouse) == ["customer_profiles_by_last_order"]

    kept = PreviousBuild.keep(warehouse, RELATIONS)
    with warehouse.session() as session:
        _what_a_failed_build_does(session)
    assert _contents(warehouse) != before
    summary = kept.restore()

    assert _contents(warehouse) == before
    assert set(summary.restored) == {CATEGORIES, CUSTOMERS_VIEW, ORDERS, PROFILES}
    assert set(summary.dropped) == {
        NEW_MART,
        NEW_SCHEMA_MART,
        Relation("marts", "customer_profiles__dbt_tmp"),
    }
    for relation in (NEW_MART, NEW_SCHEMA_MART, Relation("marts", "customer_profiles__dbt_tmp")):
        assert not _exists(warehouse, relation)
    schemas = _schemas(warehouse)
    assert "reports" not in schemas, "a schema the build created is dropped once empty"
    assert not any(schema.endswith("previous_build") for schema in schemas)
    if warehouse.kind == "duckdb":
        assert not kept.copy_path.exists()
    with warehouse.session(read_only=True) as session:
        assert session.fetchall("select run_id from ml.runs order by run_id") == [("r1",), ("r2",)], (
            "a job's own run record is not dbt's to put back"
        )
    # The constraints and indexes came back with the rows.
    assert _indexes(warehouse) == ["customer_profiles_by_last_order"]
    for refused in ("('c1', 1.00, null)", "(null, 1.00, null)"):
        with pytest.raises(CONSTRAINT_ERRORS), warehouse.session() as session:
            session.execute(f"insert into marts.customer_profiles values {refused}")


def test_a_build_that_succeeds_discards_the_copy_and_changes_nothing(warehouse):
    with warehouse.session() as session:
        _setup(session)
    before = _contents(warehouse)

    kept = PreviousBuild.keep(warehouse, RELATIONS)
    kept.discard()

    assert _contents(warehouse) == before
    assert not any(schema.endswith("previous_build") for schema in _schemas(warehouse))
    if warehouse.kind == "duckdb":
        assert not kept.copy_path.exists()


def test_a_first_build_leaves_nothing_behind_when_it_fails(warehouse):
    with warehouse.session() as session:
        session.ensure_schema("raw")
        session.execute("create table raw.customers (customer_id varchar)")
    schemas_before = _schemas(warehouse)

    kept = PreviousBuild.keep(warehouse, RELATIONS)
    with warehouse.session() as session:
        for schema in ("raw", "staging", "marts", "reports"):
            session.ensure_schema(schema)
        session.execute("create table raw.categories as select 'lamps' as category")
        session.execute("create view staging.stg_customers as select * from raw.customers")
        session.execute("create table marts.customer_profiles as select 'c1' as customer_id")
        session.execute("create table reports.weekly_report as select 3 as week")
    summary = kept.restore()

    assert summary.restored == []
    assert len(summary.dropped) == 4
    assert "nothing had been built before it" in summary.describe()
    for relation in RELATIONS:
        assert not _exists(warehouse, relation)
    assert _schemas(warehouse) == schemas_before
    assert _exists(warehouse, Relation("raw", "customers"))


def test_the_relations_are_dbts_own_parents_first():
    manifest = {
        "nodes": {
            "model.p.mart": {"resource_type": "model", "name": "mart", "schema": "marts", "config": {}},
            "model.p.stg": {"resource_type": "model", "name": "stg", "schema": "staging", "config": {}},
            "model.p.base": {
                "resource_type": "model",
                "name": "base",
                "schema": "staging",
                "config": {"materialized": "ephemeral"},
            },
            "seed.p.cats": {"resource_type": "seed", "name": "cats", "schema": "raw", "config": {}},
            "test.p.unique_mart": {
                "resource_type": "test",
                "name": "unique_mart",
                "schema": "x",
                "config": {},
            },
            "model.p.aliased": {
                "resource_type": "model",
                "name": "aliased",
                "alias": "customer_list",
                "schema": "marts",
                "config": {},
            },
        },
        "parent_map": {
            "model.p.mart": ["model.p.stg", "seed.p.cats"],
            "model.p.stg": ["model.p.base"],
            "model.p.base": ["source.p.raw.orders"],
            "seed.p.cats": [],
            "test.p.unique_mart": ["model.p.mart"],
            "model.p.aliased": ["model.p.mart"],
        },
    }

    relations = built_relations(manifest)

    assert set(relations) == {
        Relation("marts", "mart"),
        Relation("staging", "stg"),
        Relation("raw", "cats"),
        Relation("marts", "customer_list"),
    }
    assert relations.index(Relation("staging", "stg")) < relations.index(Relation("marts", "mart"))
    assert relations.index(Relation("raw", "cats")) < relations.index(Relation("marts", "mart"))
    assert relations.index(Relation("marts", "mart")) < relations.index(Relation("marts", "customer_list"))


def test_a_duckdb_restore_without_its_copy_changes_nothing(duckdb_warehouse):
    with duckdb_warehouse.session() as session:
        _setup(session)
    kept = PreviousBuild.keep(duckdb_warehouse, RELATIONS)
    with duckdb_warehouse.session() as session:
        _what_a_failed_build_does(session)
    after_the_failure = _contents(duckdb_warehouse)
    kept.copy_path.unlink()

    with pytest.raises(WarehouseError, match="has disappeared"):
        kept.restore()

    assert _contents(duckdb_warehouse) == after_the_failure
    assert _exists(duckdb_warehouse, NEW_MART)
