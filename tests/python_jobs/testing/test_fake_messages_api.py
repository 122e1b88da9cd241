"""FakeMessagesAPI itself, checked with the real SDK and with plain HTTP, since other jobs' tests rely on it."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request

import anthropic
import pytest

from python_jobs.testing.fake_messages_api import FakeMessagesAPI, FakeReply

KEY = "sk-ant-fake-server-test"
CLOSED_SCHEMA = {
    "type": "object",
    "title": "Answer",
    "properties": {"items": {"type": "array", "items": {"type": "object", "additionalProperties": False}}},
    "additionalProperties": False,
}


@pytest.fixture
def fake_messages_api():
    """The server without the answer-schema requirement, so the plain requests below stay plain."""
    with FakeMessagesAPI() as api:
        yield api


def sdk_client(api: FakeMessagesAPI, **kwargs) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(api_key=KEY, base_url=api.base_url, max_retries=0, **kwargs)


def create(api: FakeMessagesAPI, **kwargs):
    async def scenario():
        async with sdk_client(api) as client:
            return await client.messages.create(
                model="claude-sonnet-4-6",
                max_tokens=100,
                messages=[{"role": "user", "content": "hi"}],
                **kwargs,
            )

    return asyncio.run(scenario())


def post(api: FakeMessagesAPI, body: object, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{api.base_url}/v1/messages",
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", "x-api-key": KEY} | (headers or {}),
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_sdk_parses_its_replies(fake_messages_api):
    fake_messages_api.enqueue(
        FakeReply(text="hello", input_tokens=11, output_tokens=2, stop_reason="max_tokens")
    )

    message = create(fake_messages_api, system="be brief")

    assert message.content[0].text == "hello"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (11, 2)
    assert (message.stop_reason, message.model, message.role) == (
        "max_tokens",
        "claude-sonnet-4-6",
        "assistant",
    )
    [request] = fake_messages_api.requests
    assert request.json["system"] == "be brief"
    assert request.path == "/v1/messages"


def test_sampling_parameters_are_refused_like_api_version_2026_10_21(fake_messages_api):
    with pytest.raises(anthropic.BadRequestError, match="temperature: Extra inputs are not permitted"):
        create(fake_messages_api, extra_body={"temperature": 1.0})


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}, "model: Field required"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}]}, "max_tokens"),
        ({"model": "m", "max_tokens": 5, "messages": []}, "messages"),
        ({"model": "m", "max_tokens": 5, "messages": [{"content": "x"}]}, "role"),
        (["not", "an", "object"], "JSON object"),
    ],
)
def test_malformed_requests_get_a_400(fake_messages_api, body, problem):
    status, reply = post(fake_messages_api, body)

    assert status == 400
    assert reply["type"] == "error"
    assert problem in reply["error"]["message"]


def test_requests_without_credentials_get_a_401(fake_messages_api):
    status, reply = post(fake_messages_api, {}, headers={"x-api-key": ""})

    assert status == 401
    assert reply["error"]["type"] == "authentication_error"


def test_without_script_or_responder_the_reply_says_so(fake_messages_api):
    status, reply = post(
        fake_messages_api, {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
    )

    assert status == 400
    assert "no scripted reply" in reply["error"]["message"]


def test_scripted_replies_come_first_then_the_responder(fake_messages_api):
    body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
    fake_messages_api.responder = lambda request: FakeReply(text=f"echo {request['model']}")
    fake_messages_api.enqueue(FakeReply(status=503, body="raw upstream failure"))

    with pytest.raises(urllib.error.HTTPError) as failure:
        urllib.request.urlopen(
            urllib.request.Request(
                f"{fake_messages_api.base_url}/v1/messages",
                data=json.dumps(body).encode(),
                headers={"x-api-key": KEY},
                method="POST",
            ),
            timeout=5,
        )
    assert failure.value.code == 503
    assert failure.value.read() == b"raw upstream failure"
    assert post(fake_messages_api, body)[1]["content"][0]["text"] == "echo m"


def test_concurrent_requests_are_served_in_parallel_and_counted(fake_messages_api):
    fake_messages_api.delay_seconds = 0.2
    fake_messages_api.responder = lambda request: FakeReply(text="ok")

    async def five_at_once():
        async with sdk_client(fake_messages_api) as client:
            return await asyncio.gather(
                *(
                    client.messages.create(
                        model="m", max_tokens=5, messages=[{"role": "user", "content": str(n)}]
                    )
                    for n in range(5)
                )
            )

    messages = asyncio.run(five_at_once())

    assert [m.content[0].text for m in messages] == ["ok"] * 5
    assert fake_messages_api.request_count == 5
    assert fake_messages_api.max_in_flight == 5
    fake_messages_api.reset()
    assert (fake_messages_api.request_count, fake_messages_api.max_in_flight) == (0, 0)


def test_stopping_cuts_a_delayed_reply_short():
    api = FakeMessagesAPI(responder=lambda request: FakeReply(text="late", delay_seconds=30)).start()

    async def give_up_soon():
        async with anthropic.AsyncAnthropic(
            api_key=KEY, base_url=api.base_url, max_retries=0, timeout=0.2
        ) as client:
            with pytest.raises(anthropic.APITimeoutError):
                await client.messages.create(
                    model="m", max_tokens=5, messages=[{"role": "user", "content": "x"}]
                )

    asyncio.run(give_up_soon())
    api.stop()
    with pytest.raises(RuntimeError, match="not started"):
        _ = api.base_url


def test_a_required_answer_schema_is_checked_and_handed_to_the_responder():
    seen = []

    def responder(request_json):
        from python_jobs.testing.fake_messages_api import output_schema_of

        seen.append(output_schema_of(request_json)["title"])
        return FakeReply(text="{}")

    body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
    open_schema = {**CLOSED_SCHEMA, "properties": {"items": {"type": "array", "items": {"type": "object"}}}}
    with FakeMessagesAPI(responder, require_output_schema=True) as api:
        missing = post(api, body)
        wrong_type = post(api, {**body, "output_config": {"format": {"type": "text"}}})
        still_open = post(
            api, {**body, "output_config": {"format": {"type": "json_schema", "schema": open_schema}}}
        )
        fine = post(
            api, {**body, "output_config": {"format": {"type": "json_schema", "schema": CLOSED_SCHEMA}}}
        )
        [*_, last] = api.requests

    assert missing[0] == 400
    assert "a JSON schema is required" in missing[1]["error"]["message"]
    assert wrong_type[0] == 400
    assert "json_schema" in wrong_type[1]["error"]["message"]
    assert still_open[0] == 400
    assert "schema.properties.items.items" in still_open[1]["error"]["message"]
    assert fine[0] == 200
    assert fine[1]["content"][0]["text"] == "{}"
    assert seen == ["Answer"]
    assert last.output_schema == CLOSED_SCHEMA
