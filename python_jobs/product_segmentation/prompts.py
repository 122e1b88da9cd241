"""The three prompts of product segmentation and the JSON each one asks the model for.

Every prompt is a fixed template plus the call's input as ONE fenced JSON block. Fixed templates are stored once
per run in the archive (`prompts/<name>_prompt.txt`), so the archive of a call only needs its payload to be
read back; the fenced block also lets a fake server (and the offline provider) answer a prompt from the prompt
alone (`parse_prompt`). The output models validate what the model returns; anything they reject makes the LLM
client ask again, up to its attempt limit.

Product ids go into a prompt as the run writes them in JSON (`product_ids.as_json`): numbers in a run whose ids
are all integers, strings otherwise. Each form has its output models, whose JSON schema (sent to the API, and
part of the cache key) asks for that type: an integer run's models, prompts and so cache keys are the ones runs
had before ids were text. A text run's models read a number the model writes anyway (`42` for `"42"`) as its
digits, so the job matches ids as text.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from python_jobs.definitions import OUT_OF_SCOPE_SEGMENT, UNASSIGNED_SEGMENT
from python_jobs.product_segmentation.product_ids import as_json

EXTRACT_TASK = "extract_taxonomy"
CONSOLIDATE_TASK = "consolidate_taxonomy"
REFINE_TASK = "refine_assignments"
TASKS = (EXTRACT_TASK, CONSOLIDATE_TASK, REFINE_TASK)

# Bumped whenever a template or an output model changes, so cached answers to an older prompt are not reused.
SCHEMA_VERSION = "product-segmentation-v1"

# Long descriptions cost tokens and add little once the first few sentences are read.
DESCRIPTION_CHARACTERS = 600

_PAYLOAD_PLACEHOLDER = "{{payload_json}}"
_FENCED_JSON = re.compile(r"```json\s*\n(.*?)\n```", re.DOTALL)
_TASK_LINE = re.compile(r"^Task: (\w+)\s*$", re.MULTILINE)


class PromptError(ValueError):
    """A prompt that does not carry the task line and fenced JSON payload this module writes."""


# ---------------------------------------------------------------------------------------------- output models


class _Strict(BaseModel):
    """Extra keys are tolerated (models like to add notes); missing or mistyped ones are not."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class SegmentDefinition(_Strict):
    name: str = Field(min_length=1, max_length=120)
    definition: str = Field(min_length=1, max_length=2000)

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, name: str) -> str:
        """The reserved names are the job's own placeholders; a model must not define a segment called so."""
        if name in (UNASSIGNED_SEGMENT, OUT_OF_SCOPE_SEGMENT):
            raise ValueError(f"{name} is reserved and cannot be a segment name")
        return name


class ProductPlacement(_Strict):
    product_id: int
    segment: str = Field(min_length=1)


def _id_as_text(value: Any) -> Any:
    """A model may write an id as a number even when the prompt gave it as a string: read it as its digits."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


# The text-id models are titled as the integer ones and described as they are: the same answer, with ids as text.
# A docstring here would be sent to the model as the schema's description.
class TextProductPlacement(ProductPlacement):
    model_config = ConfigDict(title="ProductPlacement")

    product_id: Annotated[str, BeforeValidator(_id_as_text), Field(min_length=1)]  # type: ignore[assignment]


def _require_unique_names(segments: list[SegmentDefinition]) -> None:
    """Names are how assignments refer to segments, so two segments with one name would be ambiguous."""
    seen: set[str] = set()
    for segment in segments:
        key = segment.name.casefold()
        if key in seen:
            raise ValueError(f"segment name {segment.name!r} is used twice")
        seen.add(key)


class ExtractionOutput(_Strict):
    """A batch's taxonomy and where each of its products goes."""

    segments: list[SegmentDefinition] = Field(min_length=1)
    assignments: list[ProductPlacement]

    @model_validator(mode="after")
    def _consistent(self) -> ExtractionOutput:
        """Every placement must name one of the segments just defined (or out of scope): checked here, so a
        model that slips gets another attempt instead of silently losing products."""
        _require_unique_names(self.segments)
        allowed = {segment.name for segment in self.segments} | {OUT_OF_SCOPE_SEGMENT}
        unknown = sorted({a.segment for a in self.assignments} - allowed)
        if unknown:
            raise ValueError(f"assignments name segments that were not defined: {unknown[:5]}")
        return self


class ConsolidationOutput(_Strict):
    """One taxonomy merged from two."""

    segments: list[SegmentDefinition] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> ConsolidationOutput:
        _require_unique_names(self.segments)
        return self


class RefinementOutput(_Strict):
    """Where each product goes in the final taxonomy; names are checked against it by the job, not here,
    because the model class cannot know the run's taxonomy."""

    assignments: list[ProductPlacement]


class TextExtractionOutput(ExtractionOutput):
    __doc__ = ExtractionOutput.__doc__
    model_config = ConfigDict(title="ExtractionOutput")

    assignments: list[TextProductPlacement]  # type: ignore[assignment]


class TextRefinementOutput(RefinementOutput):
    __doc__ = RefinementOutput.__doc__
    model_config = ConfigDict(title="RefinementOutput")

    assignments: list[TextProductPlacement]  # type: ignore[assignment]


# The models of a run whose product ids are all integers (the schema as it always was), then of any other run.
OUTPUT_MODELS: dict[str, type[BaseModel]] = {
    EXTRACT_TASK: ExtractionOutput,
    CONSOLIDATE_TASK: ConsolidationOutput,
    REFINE_TASK: RefinementOutput,
}
TEXT_ID_OUTPUT_MODELS: dict[str, type[BaseModel]] = {
    EXTRACT_TASK: TextExtractionOutput,
    CONSOLIDATE_TASK: ConsolidationOutput,
    REFINE_TASK: TextRefinementOutput,
}


def output_model(task: str, integer_ids: bool) -> type[BaseModel]:
    """The answer model of `task` for a run with (or without) integer product ids."""
    return (OUTPUT_MODELS if integer_ids else TEXT_ID_OUTPUT_MODELS)[task]


# --------------------------------------------------------------------------------------------------- templates

SYSTEM_PROMPT = (
    "You are a retail category analyst. You define market segments for one product category and place "
    "products in them. You answer with a single JSON object and nothing else: no prose, no markdown."
)

_EXTRACT_TEMPLATE = f"""Task: {EXTRACT_TASK}

The fenced JSON block below holds one batch of products offered in the category named in "category"
(each product: product_id, title, brand, price, description).

1. Define the market segments these products fall into: at most "max_segments" segments, each with a short,
   readable name (for example "Smart Wi-Fi dimmers") and a one-sentence definition that says which products
   belong to it. Segments must not overlap, and names must be unique.
2. Place every product of the batch in exactly one of those segments. A product that does not belong to the
   category at all goes to "{OUT_OF_SCOPE_SEGMENT}".

Use only the product_id values given. Never use "{UNASSIGNED_SEGMENT}" or invent a product.

Answer with JSON only, in exactly this shape:
{{"segments": [{{"name": "...", "definition": "..."}}],
 "assignments": [{{"product_id": 123, "segment": "<one of your segment names, or {OUT_OF_SCOPE_SEGMENT}>"}}]}}

```json
{_PAYLOAD_PLACEHOLDER}
```
"""

_CONSOLIDATE_TEMPLATE = f"""Task: {CONSOLIDATE_TASK}

The fenced JSON block below holds two taxonomies of market segments ("taxonomy_a" and "taxonomy_b"), made
independently from different products of the category named in "category".

Merge them into ONE taxonomy of at most "max_segments" segments:
- segments of the two that describe the same kind of product become one segment: keep the clearer name and
  write a definition that covers both;
- segments found in only one taxonomy are kept as they are;
- names must be unique; definitions are one sentence saying which products belong.

Answer with JSON only, in exactly this shape:
{{"segments": [{{"name": "...", "definition": "..."}}]}}

```json
{_PAYLOAD_PLACEHOLDER}
```
"""

_REFINE_TEMPLATE = f"""Task: {REFINE_TASK}

The fenced JSON block below holds the final taxonomy of market segments of the category named in "category"
("segments": name and definition) and a batch of products (product_id, title, brand, price, description).

Place every product in exactly one segment, giving the segment's name exactly as written in "segments". A
product that does not belong to the category at all goes to "{OUT_OF_SCOPE_SEGMENT}". Leave no product out, use
only the product_id values given, and never use "{UNASSIGNED_SEGMENT}".

Answer with JSON only, in exactly this shape:
{{"assignments": [{{"product_id": 123, "segment": "<a segment name, or {OUT_OF_SCOPE_SEGMENT}>"}}]}}

```json
{_PAYLOAD_PLACEHOLDER}
```
"""

TEMPLATES: dict[str, str] = {
    EXTRACT_TASK: _EXTRACT_TEMPLATE,
    CONSOLIDATE_TASK: _CONSOLIDATE_TEMPLATE,
    REFINE_TASK: _REFINE_TEMPLATE,
}


def template_for_archive(task: str) -> str:
    """The text stored once per run as `<task>_prompt.txt`: the system prompt and the template together."""
    return f"SYSTEM:\n{SYSTEM_PROMPT}\n\nUSER:\n{TEMPLATES[task]}"


def render_prompt(task: str, payload: dict[str, Any]) -> str:
    """The user message of a call: the task's template with the payload as one fenced JSON block.

    Keys are sorted and the JSON is compact, so equal inputs always give byte-identical prompts (and cache keys).
    """
    payload_json = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return TEMPLATES[task].replace(_PAYLOAD_PLACEHOLDER, payload_json)


def parse_prompt(prompt: str) -> tuple[str, dict[str, Any]]:
    """The task and payload a prompt from `render_prompt` carries: what a fake server needs to answer it."""
    task_match = _TASK_LINE.search(prompt)
    payload_match = _FENCED_JSON.search(prompt)
    if not task_match or not payload_match:
        raise PromptError("the prompt has no 'Task:' line or no fenced JSON payload")
    task = task_match.group(1)
    if task not in TASKS:
        raise PromptError(f"unknown task {task!r} in the prompt")
    return task, json.loads(payload_match.group(1))


# ---------------------------------------------------------------------------------------------------- payloads


def product_payload(product: dict[str, Any], integer_ids: bool = True) -> dict[str, Any]:
    """What the model sees of a product: enough to place it, trimmed so a batch stays within the token budget.

    The id as the run writes it in JSON (`integer_ids`: a number; otherwise the text as given)."""
    description = product.get("description") or ""
    if len(description) > DESCRIPTION_CHARACTERS:
        description = description[:DESCRIPTION_CHARACTERS].rsplit(" ", 1)[0] + " …"
    price = product.get("price")
    return {
        "product_id": as_json(str(product["product_id"]), integer_ids),
        "title": product.get("title") or "",
        "brand": product.get("brand") or "",
        "price": None if price is None else round(float(price), 2),
        "description": description,
    }


def extraction_payload(
    category: str, products: list[dict[str, Any]], max_segments: int, *, integer_ids: bool = True
) -> dict[str, Any]:
    return {
        "category": category,
        "max_segments": max_segments,
        "products": [product_payload(product, integer_ids) for product in products],
    }


def consolidation_payload(
    category: str, taxonomy_a: list[dict[str, str]], taxonomy_b: list[dict[str, str]], max_segments: int
) -> dict[str, Any]:
    return {
        "category": category,
        "max_segments": max_segments,
        "taxonomy_a": taxonomy_a,
        "taxonomy_b": taxonomy_b,
    }


def refinement_payload(
    category: str, segments: list[dict[str, str]], products: list[dict[str, Any]], *, integer_ids: bool = True
) -> dict[str, Any]:
    return {
        "category": category,
        "segments": segments,
        "products": [product_payload(product, integer_ids) for product in products],
    }
