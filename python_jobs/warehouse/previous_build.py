"""The relations dbt builds, kept as they were before a build, so that a build that fails can put them back.

`segments build` runs dbt, then a Python job, then dbt again...; each dbt step replaces its tables one by one.
A step that fails halfway would leave, say, `customer_profiles` rebuilt from the new orders beside a
`customer_segments` still showing the previous run. So before the first step the build keeps the previous build
(`PreviousBuild.keep`), and if any step fails it puts back every relation dbt builds (`restore`): the rows, columns
and constraints of every table, the definition of every view, all at once; a relation that did not exist before
the build is dropped, and a schema the build created is dropped when it is left empty. A build that succeeds
throws the copy away (`discard`).

What is kept, and how, is what is cheapest on each warehouse:
- DuckDB: the database is one file, so the copy is the file itself (`<file>.previous_build`, a few tens of
  milliseconds for the 10,000-customer demo). A restore attaches it read-only and copies back only the dbt
  relations, in one transaction.
- PostgreSQL: every table dbt built is copied (`create table ... as`) into a schema beside its own
  (`marts_previous_build`...), in one transaction; its constraints and indexes, and the views, are kept as their
  definitions. A restore moves the copies back (`alter table ... set schema`, no rows copied), adds their
  constraints and indexes under their own names and recreates the views, in one transaction.

The Python jobs' own tables (`ml`) are not dbt's and are never put back: a job writes its run all-or-nothing on
its own, and its row (`succeeded` or `failed`) is the record of what ran. The marts name the run they show.
"""

from __future__ import annotations

import graphlib
import os
import time
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_jobs.warehouse.connection import Session, Warehouse, WarehouseError, quote_identifier

# A relation dbt builds: a model that is not ephemeral, a seed, a snapshot.
_BUILT_RESOURCES = {"model", "seed", "snapshot"}
# What dbt leaves beside a relation while it replaces it, should it stop in between.
_DBT_LEFTOVER_SUFFIXES = ("__dbt_tmp", "__dbt_backup")
SUFFIX = "previous_build"


@dataclass(frozen=True)
class Relation:
    schema: str
    name: str

    @property
    def qualified(self) -> str:
        return f"{quote_identifier(self.schema)}.{quote_identifier(self.name)}"

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"


def built_relations(manifest: dict[str, Any]) -> list[Relation]:
    """Every relation the project's dbt builds, parents before children."""
    nodes = manifest["nodes"]
    parents = manifest.get("parent_map") or {
        uid: node.get("depends_on", {}).get("nodes", []) for uid, node in nodes.items()
    }
    order = graphlib.TopologicalSorter({uid: parents.get(uid, []) for uid in nodes}).static_order()
    relations: list[Relation] = []
    for uid in order:
        node = nodes.get(uid)
        if node is None or node.get("resource_type") not in _BUILT_RESOURCES:
            continue
        if node.get("config", {}).get("materialized") == "ephemeral":
            continue
        relation = Relation(node["schema"], node.get("alias") or node["name"])
        if relation not in relations:
            relations.append(relation)
    return relations


@dataclass
class RestoreSummary:
    """What a restore did."""

    restored: list[Relation] = field(default_factory=list)
    dropped: list[Relation] = field(default_factory=list)
    seconds: float = 0.0

    def describe(self) -> str:
        if not self.restored:
            return (
                f"nothing had been built before it, so the {_count(self.dropped, 'relation')} it created "
                f"were dropped (in {self.seconds:.1f}s)"
            )
        text = f"the marts were restored to the previous build ({_count(self.restored, 'relation')} put back"
        if self.dropped:
            text += f", {_count(self.dropped, 'new relation')} dropped"
        return text + f", in {self.seconds:.1f}s)"


def _count(items: list[Any], noun: str) -> str:
    return f"{len(items)} {noun}" + ("" if len(items) == 1 else "s")


class PreviousBuild:
    """The dbt relations as they were when `keep` ran; see the module's docstring."""

    def __init__(self, warehouse: Warehouse, relations: list[Relation]) -> None:
        self.warehouse = warehouse
        self.relations = relations
        self.seconds_to_keep = 0.0

    @staticmethod
    def keep(warehouse: Warehouse, relations: list[Relation]) -> PreviousBuild:
        """Keep the relations as they are now (replacing whatever an interrupted build left)."""
        started = time.perf_counter()
        kept: PreviousBuild
        if warehouse.kind == "duckdb":
            kept = _DuckDBPreviousBuild(warehouse, relations)
        elif warehouse.kind == "postgres":
            kept = _PostgresPreviousBuild(warehouse, relations)
        elif warehouse.kind == "spark":
            kept = _SparkPreviousBuild(warehouse, relations)
        else:
            raise WarehouseError(f"unsupported warehouse type {warehouse.kind!r}")
        kept._keep()
        kept.seconds_to_keep = time.perf_counter() - started
        return kept

    @property
    def schemas(self) -> list[str]:
        return sorted({relation.schema for relation in self.relations})

    def restore(self) -> RestoreSummary:
        """Put every relation back as it was, in one transaction, then throw the copy away."""
        started = time.perf_counter()
        summary = self._restore()
        self.discard()
        summary.seconds = time.perf_counter() - started
        return summary

    def _keep(self) -> None:
        raise NotImplementedError

    def where(self) -> str:
        """Where the copy is, for a person to put it back by hand when a restore failed."""
        raise NotImplementedError

    def _restore(self) -> RestoreSummary:
        raise NotImplementedError

    def discard(self) -> None:
        raise NotImplementedError

    # Shared by both warehouses: what exists now, and dropping it.

    def _existing(self, session: Session, catalog: str | None = None) -> dict[Relation, str]:
        """The kept relations (and dbt's leftovers beside them) that exist, as 'table' or 'view'."""
        wanted = {
            Relation(relation.schema, relation.name + suffix)
            for relation in self.relations
            for suffix in ("", *_DBT_LEFTOVER_SUFFIXES)
        }
        sql = "select table_schema, table_name, table_type from information_schema.tables where table_schema in ({})"
        params: list[Any] = list(self.schemas)
        sql = sql.format(", ".join("?" for _ in params))
        if catalog is not None:
            sql += " and table_catalog = ?"
            params.append(catalog)
        found: dict[Relation, str] = {}
        for schema, name, table_type in session.fetchall(sql, params):
            relation = Relation(schema, name)
            if relation in wanted:
                found[relation] = "view" if table_type == "VIEW" else "table"
        return found

    def _drop_all(self, session: Session, existing: dict[Relation, str]) -> None:
        # Views first, children before parents, so no drop trips over a dependent view.
        order = {relation: index for index, relation in enumerate(self.relations)}
        ranked = sorted(existing, key=lambda r: (existing[r] != "view", -order.get(self._base(r), -1)))
        cascade = " cascade" if session.kind == "postgres" else ""
        for relation in ranked:
            session.execute(f"drop {existing[relation]} if exists {relation.qualified}{cascade}")

    @staticmethod
    def _base(relation: Relation) -> Relation:
        for suffix in _DBT_LEFTOVER_SUFFIXES:
            if relation.name.endswith(suffix):
                return Relation(relation.schema, relation.name.removesuffix(suffix))
        return relation

    def _drop_schemas_left_empty(self, session: Session, schemas_before: set[str]) -> None:
        for schema in self.schemas:
            if schema in schemas_before:
                continue
            # On PostgreSQL anything at all in it (a sequence, a function) keeps it, since `drop schema` would fail.
            sql = (
                "select count(*) from information_schema.tables where table_schema = ?"
                if session.kind == "duckdb"
                else "select (select count(*) from pg_class where relnamespace = to_regnamespace(?)) "
                "+ (select count(*) from pg_proc where pronamespace = to_regnamespace(?))"
            )
            left = session.fetchone(sql, [schema] if session.kind == "duckdb" else [schema, schema])
            if left is not None and left[0] == 0:
                session.execute(f"drop schema if exists {quote_identifier(schema)}")


class _SparkPreviousBuild(PreviousBuild):
    """Spark keeps no copy: it has no transaction to put dozens of tables back at once, and copying every table
    before each build would cost what the build costs. A failed build leaves the relations as its failed step
    left them; what readers trust is the jobs' run protocol (the marts show the latest succeeded run)."""

    def _keep(self) -> None:
        pass

    def where(self) -> str:
        return "Spark keeps no copy of the previous build: rerun `segments build --target spark` once fixed"

    def _restore(self) -> RestoreSummary:
        raise WarehouseError("not on Spark, which keeps no copy of the previous build")

    def discard(self) -> None:
        pass


class _DuckDBPreviousBuild(PreviousBuild):
    """The copy is the database file, taken while nobody writes it."""

    ATTACHED_AS = SUFFIX
    copied = False

    @property
    def copy_path(self) -> Path:
        return self.warehouse.duckdb_path.with_name(f"{self.warehouse.duckdb_path.name}.{SUFFIX}")

    def where(self) -> str:
        return f"the previous build is kept in {self.copy_path} until the next build"

    def _files(self, base: Path) -> list[Path]:
        return [base, base.with_name(base.name + ".wal")]

    def _keep(self) -> None:
        import shutil

        from python_jobs.warehouse.locks import duckdb_access

        self.discard()
        database = self.warehouse.duckdb_path
        self.copied = database.exists()
        if not self.copied:
            return
        # A shared hold: readers may go on reading, nobody writes while the bytes are copied.
        with duckdb_access(database, read_only=True):
            for source, target in zip(self._files(database), self._files(self.copy_path), strict=True):
                if source.exists():
                    partial = target.with_name(target.name + ".partial")
                    shutil.copyfile(source, partial)
                    os.replace(partial, target)

    def discard(self) -> None:
        for path in self._files(self.copy_path):
            for leftover in (path, path.with_name(path.name + ".partial")):
                with suppress(FileNotFoundError):
                    leftover.unlink()

    def _restore(self) -> RestoreSummary:
        summary = RestoreSummary()
        with self.warehouse.session() as session:
            session.execute("set enable_progress_bar = false")
            before: dict[Relation, str] = {}
            schemas_before: set[str] = set()
            if self.copied and not self.copy_path.exists():
                raise WarehouseError(f"the copy of the previous build, {self.copy_path}, has disappeared")
            # Attached for this connection only: it is gone when the session closes.
            if self.copied:
                session.execute(f"attach ? as {self.ATTACHED_AS} (read_only)", [str(self.copy_path)])
                before = self._definitions(session)
                schemas_before = {
                    row[0]
                    for row in session.fetchall(
                        "select schema_name from duckdb_schemas() where database_name = ?", [self.ATTACHED_AS]
                    )
                }
            catalog = session.fetchone("select current_database()")
            existing = self._existing(session, catalog[0] if catalog else None)
            self._drop_all(session, existing)
            summary.dropped = [relation for relation in existing if relation not in before]
            # Tables by their own DDL (constraints and all), then their rows; then the views on top of them.
            tables = [
                r for r in self.relations if r in before and before[r].upper().startswith("CREATE TABLE")
            ]
            views = [r for r in self.relations if r in before and r not in tables]
            for relation in tables:
                session.ensure_schema(relation.schema)
                session.execute(before[relation])
                session.execute(
                    f"insert into {relation.qualified} select * from {self.ATTACHED_AS}.{relation.qualified}"
                )
            indexes = session.fetchall(
                "select schema_name, table_name, sql from duckdb_indexes() "
                "where database_name = ? and sql is not null",
                [self.ATTACHED_AS],
            )
            for schema, table, index in indexes:
                if Relation(schema, table) in tables:
                    session.execute(index)
            for relation in views:
                session.ensure_schema(relation.schema)
                session.execute(before[relation])
            summary.restored = tables + views
            self._drop_schemas_left_empty(session, schemas_before)
        return summary

    def _definitions(self, session: Session) -> dict[Relation, str]:
        """The CREATE statement of every kept relation in the copy."""
        wanted = set(self.relations)
        found: dict[Relation, str] = {}
        for query in (
            "select schema_name, table_name, sql from duckdb_tables() where database_name = ?",
            "select schema_name, view_name, sql from duckdb_views() where database_name = ?",
        ):
            for schema, name, sql in session.fetchall(query, [self.ATTACHED_AS]):
                if Relation(schema, name) in wanted:
                    found[Relation(schema, name)] = sql
        return found


@dataclass
class _TableShape:
    """What `create table ... as` leaves out of a copy, to be put back with it: NOT NULL columns, constraints
    (primary key...) and indexes, under their own names."""

    not_null: list[str] = field(default_factory=list)
    constraints: list[tuple[str, str]] = field(default_factory=list)
    indexes: list[str] = field(default_factory=list)


def _quoted(name: str) -> str:
    """A name read from PostgreSQL's catalogue (dbt names indexes by a hash), quoted as it is."""
    return '"' + name.replace('"', '""') + '"'


class _PostgresPreviousBuild(PreviousBuild):
    """Tables copied into `<schema>_previous_build`; views kept as their definitions.

    The copies are plain `create table ... as` (no index to maintain while copying: about half the time of a copy
    with its indexes); the constraints and indexes are read from the catalogue and put back on a restore only.
    """

    def __init__(self, warehouse: Warehouse, relations: list[Relation]) -> None:
        super().__init__(warehouse, relations)
        self.tables: dict[Relation, _TableShape] = {}
        self.views: dict[Relation, str] = {}
        self.schemas_before: set[str] = set()

    @staticmethod
    def backup_schema(schema: str) -> str:
        return f"{schema}_{SUFFIX}"

    def _keep(self) -> None:
        with self.warehouse.session() as session:
            self._drop_backup_schemas(session)
            self.schemas_before = {
                row[0]
                for row in session.fetchall(
                    "select nspname from pg_namespace where nspname in ({})".format(
                        ", ".join("?" for _ in self.schemas)
                    ),
                    self.schemas,
                )
            }
            existing = {r: kind for r, kind in self._existing(session).items() if r in set(self.relations)}
            for relation in self.relations:
                kind = existing.get(relation)
                if kind == "view":
                    row = session.fetchone(
                        "select pg_get_viewdef(views.oid) from pg_class as views "
                        "inner join pg_namespace as schemas on views.relnamespace = schemas.oid "
                        "where schemas.nspname = ? and views.relname = ?",
                        [relation.schema, relation.name],
                    )
                    self.views[relation] = row[0] if row else ""
                elif kind == "table":
                    backup = Relation(self.backup_schema(relation.schema), relation.name)
                    session.ensure_schema(backup.schema)
                    session.execute(f"create table {backup.qualified} as table {relation.qualified}")
                    self.tables[relation] = self._shape(session, relation)

    @staticmethod
    def _shape(session: Session, relation: Relation) -> _TableShape:
        table = [relation.qualified]
        not_null = session.fetchall(
            "select attname from pg_attribute where attrelid = to_regclass(?) and attnum > 0 "
            "and not attisdropped and attnotnull order by attnum",
            table,
        )
        constraints = session.fetchall(
            "select conname, pg_get_constraintdef(oid) from pg_constraint where conrelid = to_regclass(?) "
            "order by contype <> 'p', conname",
            table,
        )
        indexes = session.fetchall(
            "select pg_get_indexdef(indexrelid) from pg_index where indrelid = to_regclass(?) "
            "and indexrelid not in (select conindid from pg_constraint where conrelid = to_regclass(?)) "
            "order by indexrelid",
            table * 2,
        )
        return _TableShape(
            not_null=[row[0] for row in not_null],
            constraints=[(row[0], row[1]) for row in constraints],
            indexes=[row[0] for row in indexes],
        )

    def where(self) -> str:
        schemas = ", ".join(self.backup_schema(schema) for schema in self.schemas)
        return f"the previous build's tables are kept in schemas {schemas} until the next build"

    def discard(self) -> None:
        with self.warehouse.session() as session:
            self._drop_backup_schemas(session)

    def _drop_backup_schemas(self, session: Session) -> None:
        for schema in self.schemas:
            session.execute(f"drop schema if exists {quote_identifier(self.backup_schema(schema))} cascade")

    def _restore(self) -> RestoreSummary:
        summary = RestoreSummary()
        with self.warehouse.session() as session:
            existing = self._existing(session)
            self._drop_all(session, existing)
            before = set(self.tables) | set(self.views)
            summary.dropped = [r for r in existing if r not in before]
            for relation in self.relations:
                if relation in self.tables:
                    backup = Relation(self.backup_schema(relation.schema), relation.name)
                    session.execute(
                        f"alter table {backup.qualified} set schema {quote_identifier(relation.schema)}"
                    )
                    summary.restored.append(relation)
            # Once every table is back, so that a foreign key finds the table it points to.
            for relation, shape in self.tables.items():
                for column in shape.not_null:
                    session.execute(
                        f"alter table {relation.qualified} alter column {_quoted(column)} set not null"
                    )
                for name, definition in shape.constraints:
                    session.execute(
                        f"alter table {relation.qualified} add constraint {_quoted(name)} {definition}"
                    )
                for index in shape.indexes:
                    session.execute(index)
            for relation in self.relations:
                if relation in self.views:
                    session.ensure_schema(relation.schema)
                    session.execute(f"create view {relation.qualified} as {self.views[relation]}")
                    summary.restored.append(relation)
            self._drop_schemas_left_empty(session, self.schemas_before)
            self._drop_backup_schemas(session)
        return summary


def describe_relations(relations: Iterable[Relation]) -> str:
    return ", ".join(str(relation) for relation in relations)
