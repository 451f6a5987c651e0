"""HttpClient against a real HTTP server on 127.0.0.1: retries, timeouts, conditional GET, mirror mode."""

from __future__ import annotations

import json
import logging
import time

import pytest

from wup_pipeline.resources.http import HttpClient, SourceUnavailableError, retry_after_seconds

URL = "https://example.org/api/v1/data"
PATH = "/example.org/api/v1/data"
PAYLOAD = {"value": [{"id": 1}, {"id": 2}]}
PAYLOAD_BYTES = json.dumps(PAYLOAD).encode()  # what LoopbackMirror.put writes


def make_client(**overrides) -> tuple[HttpClient, list[float]]:
    """A fast client whose backoff waits are recorded instead of slept."""
    settings = {"timeout_s": 0.3, "max_attempts": 3, "backoff_base_s": 0.01} | overrides
    client = HttpClient(**settings)
    waits: list[float] = []
    client._sleep = waits.append
    return client, waits


@pytest.fixture
def served(loopback_mirror):
    loopback_mirror.put(URL, PAYLOAD)
    return loopback_mirror


def test_429_with_retry_after_waits_as_told_then_succeeds(served, caplog):
    served.fail(PATH, (429, 2))
    client, waits = make_client()
    with caplog.at_level(logging.WARNING, logger="wup_pipeline.resources.http"):
        result = client.get(served.url(URL))
    assert result.status == 200
    assert result.content == PAYLOAD_BYTES
    assert served.requests[PATH] == 2
    assert len(waits) == 1
    assert 2.0 <= waits[0] <= 2.4, f"Retry-After: 2 must lead to a wait of at least 2 s, got {waits[0]}"
    assert "HTTP 429" in caplog.text and PATH in caplog.text


def test_retry_after_is_never_shortened_by_jitter(served):
    for _ in range(20):
        served.fail(PATH, (503, 1))
        client, waits = make_client()
        assert client.get(served.url(URL)).status == 200
        assert waits and waits[0] >= 1.0


def test_retry_after_header_forms():
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: no wait


def test_repeated_500s_end_in_source_unavailable(served):
    served.fail(PATH, 500, 500, 500, 500)
    client, waits = make_client(max_attempts=3)
    with pytest.raises(SourceUnavailableError) as caught:
        client.get(served.url(URL), params={"$format": "json"})
    message = str(caught.value)
    assert served.url(URL) in message
    assert "after 3 attempts" in message and "HTTP 500" in message
    assert served.requests[PATH] == 3
    # exponential backoff with +-20 % jitter: ~0.01 s, then ~0.02 s
    assert len(waits) == 2
    assert 0.008 <= waits[0] <= 0.012 and 0.016 <= waits[1] <= 0.024


def test_timeout_then_success(served):
    served.fail(PATH, "timeout")
    client, waits = make_client()
    started = time.monotonic()
    result = client.get(served.url(URL))
    assert result.status == 200 and result.content
    assert served.requests[PATH] == 2
    assert len(waits) == 1
    assert time.monotonic() - started < served.stall_s, "the client must give up after its own timeout"


def test_timeout_every_time_gives_a_clear_error(served):
    served.fail(PATH, "timeout", "timeout")
    client, _ = make_client(max_attempts=2)
    with pytest.raises(SourceUnavailableError) as caught:
        client.get(served.url(URL))
    message = str(caught.value)
    assert "timed out after 0.3 s" in message
    assert "after 2 attempts" in message and served.url(URL) in message
    assert served.requests[PATH] == 2


def test_dropped_connection_then_success(served):
    served.fail(PATH, "drop")
    client, waits = make_client()
    result = client.get(served.url(URL))
    assert result.status == 200
    assert served.requests[PATH] == 2
    assert [outcome for _, _, outcome in served.log] == ["drop", 200]
    assert len(waits) == 1


def test_dropped_connection_every_time_names_the_problem(served):
    served.fail(PATH, "drop", "drop")
    client, _ = make_client(max_attempts=2)
    with pytest.raises(SourceUnavailableError, match="connection error"):
        client.get(served.url(URL))


def test_404_fails_at_once_without_retry(loopback_mirror):
    client, waits = make_client(max_attempts=5)
    missing = "https://example.org/api/v1/missing"
    with pytest.raises(SourceUnavailableError) as caught:
        client.get(loopback_mirror.url(missing))
    assert "HTTP 404" in str(caught.value)
    assert loopback_mirror.url(missing) in str(caught.value)
    assert loopback_mirror.requests["/example.org/api/v1/missing"] == 1
    assert waits == []


def test_conditional_get_answers_304(served):
    client, _ = make_client()
    first = client.get(served.url(URL))
    assert first.status == 200 and first.etag
    again = client.get(served.url(URL), etag=first.etag)
    assert again.status == 304 and again.not_modified and again.content == b""
    assert served.received_headers[-1]["If-None-Match"] == first.etag
    changed = client.get(served.url(URL), etag='"an-older-version"')
    assert changed.status == 200 and changed.content == first.content
    assert [outcome for _, _, outcome in served.log] == [200, 304, 200]


def test_mirror_mode_reads_the_file_without_network(served, mirror_root):
    client = HttpClient(mirror_dir=str(mirror_root))
    result = client.get(URL)  # the real URL: only the mirror is read
    assert result.from_mirror and result.status == 200
    assert result.content == PAYLOAD_BYTES
    assert result.headers["X-Mirror-File"] == str(mirror_root / "example.org/api/v1/data/_.json")
    assert sum(served.requests.values()) == 0


def test_mirror_mode_missing_file_names_the_expected_path(mirror_root):
    client = HttpClient(mirror_dir=str(mirror_root))
    expected = mirror_root / "example.org" / "api" / "v1" / "other" / "f=json.json"
    with pytest.raises(SourceUnavailableError) as caught:
        client.get("https://example.org/api/v1/other", params={"f": "json"})
    assert f"expected file {expected}" in str(caught.value)


@pytest.mark.parametrize("faults", [(500, 500), (401,)], ids=["retried-500", "refused-401"])
def test_secret_authorization_header_never_reaches_errors_or_logs(served, caplog, faults):
    secret = "s3cr3t-ep-online-key-0123456789"
    served.fail(PATH, *faults)
    client, _ = make_client(max_attempts=2)
    with caplog.at_level(logging.DEBUG), pytest.raises(SourceUnavailableError) as caught:
        client.get(served.url(URL), headers={"Authorization": secret})
    assert served.received_headers[0]["Authorization"] == secret  # it was really sent
    assert secret not in str(caught.value) and secret not in repr(caught.value)
    assert caplog.records, "the retries and the request should have been logged"
    assert secret not in caplog.text
    assert all(secret not in str(record.args) for record in caplog.records)
