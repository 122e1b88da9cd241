"""The deal packages job: `run_packages(warehouse, deal_ids, params, config)`.

Deals are read from `raw.deals`, embedded (cached by content hash), clustered, and each kept cluster is sent to
the LLM once (concurrently, under the LLM layer's shared limit, cached and archived under
`llm_logs/deal_packages/<run_id>/`). A cluster whose replies stay invalid after every attempt, or time out, is
skipped with the reason; a quota or authentication error fails the run. The run's row is written `running` at
the start; everything else, with `succeeded`, in one transaction at the end.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import json
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from python_jobs.deal_packages import proposals, tables
from python_jobs.deal_packages.clustering import Clustering, ClusterParams, cluster
from python_jobs.deal_packages.offline import OFFLINE_HANDLERS, OFFLINE_MODEL
from python_jobs.deal_packages.text import deal_aspects, deal_text
from python_jobs.embeddings import make_embedder
from python_jobs.embeddings.aspects import embed_documents
from python_jobs.llm.archive import LocalArchiveStorage
from python_jobs.llm.client import LLMCall, LLMClient
from python_jobs.llm.config import LLMConfig
from python_jobs.llm.providers import LLMOutputError, LLMProvider, LLMRequest, LLMTimeoutError, make_provider
from python_jobs.warehouse.connection import Warehouse

Echo = Callable[[str], None]
ARCHIVE_FOLDER = "deal_packages"
_DISTINCTIVE_WORDS = 5
# Words of the deal text's own labels, and others every deal has: never distinctive.
_LABEL_WORDS = [
    "deal", "ssp", "format", "taxonomy", "concepts", "safety", "garm", "risk", "family", "safe", "audience",
    "commercial", "quality", "volume", "publishers", "unknown", "com", "net", "org", "adults", "men", "women",
]  # fmt: skip


class DealPackagesError(Exception):
    """The run cannot start (no deals, unknown ids, bad template) or failed; the message says why."""


@dataclasses.dataclass
class RunResult:
    run_id: str
    deals: int
    clusters: int
    packages: int
    unclustered: list[str]
    skipped: dict[int, str]
    llm_calls: int
    cache_hits: int
    invented_deal_ids: int
    embedding: dict[str, Any]
    texts_embedded: int  # distinct texts embedded by this run; the others came from the embedding cache
    # Wall seconds of each stage: embedding (with the cache), clustering, llm (every cluster's call), writing.
    seconds: dict[str, float] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class _ClusterAnswer:
    cluster_id: int
    call: LLMCall | None
    skip_reason: str | None


def run_packages(
    warehouse: Warehouse,
    deal_ids: Sequence[str] | None,
    params: ClusterParams,
    config: LLMConfig,
    *,
    embedding_backend: str = "auto",
    prompt_template: Path | None = None,
    archive_root: Path | str = Path("llm_logs"),
    echo: Echo = print,
) -> RunResult:
    """Package the deals (by id, or every deal with None); returns what the run wrote."""
    config = dataclasses.replace(config, offline_model=OFFLINE_MODEL)
    template = proposals.load_template(prompt_template)
    provider = make_provider(config, OFFLINE_HANDLERS)
    with warehouse.session(read_only=True) as session:
        deals = tables.load_deals(session, deal_ids)
    if deal_ids is not None:
        missing = sorted(set(deal_ids) - {d["deal_id"] for d in deals})
        if missing:
            raise DealPackagesError(f"{len(missing)} deal id(s) not in raw.deals: {', '.join(missing[:10])}")
    if not deals:
        raise DealPackagesError("no deals to package: raw.deals is empty (segments generate or load-deals)")
    started = dt.datetime.now(dt.UTC)
    run_id = _new_run_id(started, [d["deal_id"] for d in deals])
    with warehouse.session() as session:
        tables.ensure_tables(session)
        tables.append(
            session,
            tables.RUNS,
            [
                {
                    "run_id": run_id,
                    "started_at": started,
                    "status": "running",
                    "parameters": json.dumps(
                        {**params.as_dict(), "prompt_template": str(prompt_template or "default")},
                        sort_keys=True,
                    ),
                    "llm_provider": provider.name,
                    "llm_model": provider.model,
                    "deals_total": len(deals),
                }
            ],
        )
    try:
        return _execute(
            warehouse,
            run_id,
            deals,
            params,
            config,
            provider,
            template,
            embedding_backend,
            archive_root,
            echo,
        )
    except Exception as error:
        with warehouse.session() as session:
            tables.update_run(
                session,
                run_id,
                status="failed",
                finished_at=dt.datetime.now(dt.UTC),
                error_message=str(error)[:2000],
            )
        raise DealPackagesError(f"run {run_id} failed: {error}") from error


def _execute(
    warehouse: Warehouse,
    run_id: str,
    deals: list[dict[str, Any]],
    params: ClusterParams,
    config: LLMConfig,
    provider: LLMProvider,
    template: str,
    embedding_backend: str,
    archive_root: Path | str,
    echo: Echo,
) -> RunResult:
    texts = [deal_text(deal) for deal in deals]
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    embedder = make_embedder(embedding_backend, seed=params.seed)
    with warehouse.session() as session:
        embeddings, embedded_now = embed_documents(session, embedder, [deal_aspects(deal) for deal in deals])
    backend = embeddings.backend
    echo(f"Deal packages run {run_id}: {len(deals):,} deals, embeddings {backend.name} ({backend.model}), "
         f"{embedded_now:,} new texts embedded")  # fmt: skip
    seconds["embedding"], started = time.perf_counter() - started, time.perf_counter()
    clustering = cluster(embeddings.vectors, params)
    words = _distinctive_words(texts, clustering)
    seconds["clustering"], started = time.perf_counter() - started, time.perf_counter()
    echo(f"  {len(clustering.clusters)} clusters ({params.method}, {clustering.components} components); "
         f"{len(clustering.unclustered)} deals in clusters under {params.min_cluster_size}")  # fmt: skip
    answers = asyncio.run(
        _ask(run_id, deals, clustering, words, params, config, provider, template, archive_root)
    )
    seconds["llm"], started = time.perf_counter() - started, time.perf_counter()
    result = _write(warehouse, run_id, deals, clustering, words, answers, backend, embedded_now, provider)
    seconds["writing"] = time.perf_counter() - started
    return dataclasses.replace(result, seconds=seconds)


def _new_run_id(started: dt.datetime, deal_ids: list[str]) -> str:
    digest = hashlib.sha256(f"{','.join(deal_ids)}|{uuid.uuid4().hex}".encode()).hexdigest()[:8]
    return f"DP_{started:%Y%m%dT%H%M%SZ}_{digest}"


def _distinctive_words(texts: list[str], clustering: Clustering) -> dict[int, list[str]]:
    """Each cluster's words with the highest TF-IDF when every cluster is one document."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

    every = clustering.clusters + clustering.dropped
    if not every:
        return {}
    documents = [" ".join(texts[i] for i in c.members) for c in every]
    vectorizer = TfidfVectorizer(
        stop_words=[*ENGLISH_STOP_WORDS, *_LABEL_WORDS],
        token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z]+\b",
        sublinear_tf=True,
    )
    matrix = vectorizer.fit_transform(documents).toarray()
    vocabulary = vectorizer.get_feature_names_out()
    result = {}
    for row, members in zip(matrix, every, strict=True):
        order = np.lexsort((vocabulary, -row))  # by weight, ties by word: deterministic
        result[members.cluster_id] = [str(vocabulary[i]) for i in order[:_DISTINCTIVE_WORDS] if row[i] > 0]
    return result


async def _ask(
    run_id: str,
    deals: list[dict[str, Any]],
    clustering: Clustering,
    words: dict[int, list[str]],
    params: ClusterParams,
    config: LLMConfig,
    provider: LLMProvider,
    template: str,
    archive_root: Path | str,
) -> list[_ClusterAnswer]:
    storage = LocalArchiveStorage(Path(archive_root))
    async with LLMClient(config, provider, storage, run_id, f"{ARCHIVE_FOLDER}/{run_id}") as client:
        client.write_prompt_template(proposals.TASK, template)

        async def one(found: Any) -> _ClusterAnswer:
            members = [deals[i] for i in [*found.members, *sorted(found.soft_members)]]
            ids = [d["deal_id"] for d in members]
            request = LLMRequest(
                task=proposals.TASK,
                system=proposals.SYSTEM,
                prompt=proposals.render_prompt(template, members),
                output_model=proposals.proposals_for_cluster(ids, params.soft_assignments),
                schema_version=proposals.SCHEMA_VERSION,
                payload={
                    "deals": [proposals.enriched_deal(d) for d in members],
                    "distinctive_words": words[found.cluster_id],
                },
            )
            try:
                call = await client.call(
                    request, phase="packages", batch_label=f"cluster_{found.cluster_id:04d}", product_ids=ids
                )
            except LLMOutputError as error:
                return _ClusterAnswer(
                    found.cluster_id, None, f"invalid output after {error.attempts} attempts: {error.reason}"
                )
            except (LLMTimeoutError, TimeoutError) as error:
                return _ClusterAnswer(found.cluster_id, None, f"timeout: {error}")
            return _ClusterAnswer(found.cluster_id, call, None)

        return list(await asyncio.gather(*(one(c) for c in clustering.clusters)))


def _write(
    warehouse: Warehouse,
    run_id: str,
    deals: list[dict[str, Any]],
    clustering: Clustering,
    words: dict[int, list[str]],
    answers: list[_ClusterAnswer],
    backend: Any,
    embedded_now: int,
    provider: LLMProvider,
) -> RunResult:
    by_cluster = {c.cluster_id: c for c in clustering.clusters}
    answer_of = {a.cluster_id: a for a in answers}
    cluster_rows, package_rows, member_rows = [], [], []
    names_used: set[str] = set()
    invented = 0
    for found in [*clustering.clusters, *clustering.dropped]:
        answer = answer_of.get(found.cluster_id)
        status = "too_small" if answer is None else ("skipped" if answer.call is None else "packaged")
        cluster_rows.append(
            {
                "run_id": run_id,
                "cluster_id": found.cluster_id,
                "component": found.component,
                "deal_count": len(found.members),
                "cluster_status": status,
                "skip_reason": answer.skip_reason if answer else "fewer than the minimum cluster size",
                "distinctive_words": json.dumps(words.get(found.cluster_id, [])),
                "deal_ids": json.dumps(sorted(deals[i]["deal_id"] for i in found.members)),
            }
        )
        if answer is None or answer.call is None:
            continue
        soft_ids = {deals[i]["deal_id"] for i in by_cluster[found.cluster_id].soft_members}
        invented += answer.call.parsed.invented_deal_ids
        for number, package in enumerate(answer.call.parsed.packages, start=1):
            package_id = f"{run_id}-{found.cluster_id:04d}-{number:02d}"
            name = _unique_name(package.package_name, names_used)
            package_rows.append(
                {
                    "run_id": run_id,
                    "package_id": package_id,
                    "cluster_id": found.cluster_id,
                    "package_name": name,
                    "reasoning": package.reasoning,
                    "is_offline": provider.name == "offline",
                    "llm_model": provider.model,
                    "llm_cache_hit": answer.call.cache_hit,
                }
            )
            member_rows += [
                {
                    "run_id": run_id,
                    "package_id": package_id,
                    "deal_id": deal_id,
                    "is_soft_assignment": deal_id in soft_ids,
                }
                for deal_id in package.deal_ids
            ]
    unclustered = [deals[i]["deal_id"] for i in clustering.unclustered]
    skipped = {a.cluster_id: a.skip_reason for a in answers if a.call is None}
    calls = [a.call for a in answers if a.call is not None]
    result = RunResult(
        run_id=run_id,
        deals=len(deals),
        clusters=len(clustering.clusters),
        packages=len(package_rows),
        unclustered=unclustered,
        skipped=skipped,
        llm_calls=sum(not c.cache_hit for c in calls),
        cache_hits=sum(c.cache_hit for c in calls),
        invented_deal_ids=invented,
        embedding=backend.as_dict(),
        texts_embedded=embedded_now,
    )
    summary = {
        "unclustered_deal_ids": unclustered,
        "skipped_clusters": {str(k): v for k, v in skipped.items()},
        "score_by_components": {str(k): v for k, v in clustering.score_by_components.items()},
        "components": clustering.components,
    }
    with warehouse.session() as session:
        tables.append(session, tables.CLUSTERS, cluster_rows)
        tables.append(session, tables.PACKAGES, package_rows)
        tables.append(session, tables.MEMBERS, member_rows)
        tables.update_run(
            session,
            run_id,
            status="succeeded",
            finished_at=dt.datetime.now(dt.UTC),
            embedding_backend=backend.name,
            embedding_model=backend.model,
            embedding_dimensions=backend.dimensions,
            texts_embedded=embedded_now,
            clusters_total=len(clustering.clusters),
            clusters_skipped=len(skipped),
            packages_total=len(package_rows),
            deals_unclustered=len(unclustered),
            invented_deal_ids=invented,
            llm_calls=result.llm_calls,
            llm_cache_hits=result.cache_hits,
            result_summary=json.dumps(summary, sort_keys=True),
        )
    return result


def _unique_name(name: str, used: set[str]) -> str:
    """`name`, or `name (2)`, `(3)`... when another cluster's package took it (names are unique in a run)."""
    candidate, number = name, 1
    while candidate.lower() in used:
        number += 1
        candidate = f"{name} ({number})"
    used.add(candidate.lower())
    return candidate
