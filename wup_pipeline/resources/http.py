"""One HTTP client for every source: timeouts, retries with backoff, conditional requests, mirror mode."""

from __future__ import annotations

import email.utils
import logging
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import requests
from pydantic import Field, PrivateAttr

from wup_pipeline.resources.mirror import canonical_query, mirror_path, split_url

log = logging.getLogger(__name__)

RETRY_STATUSES = {429, 500, 502, 503, 504}
# Header names whose values must never reach logs, metadata or snapshots.
SECRET_HEADERS = {"authorization", "x-api-key", "apikey"}


class SourceUnavailableError(RuntimeError):
    """A source could not be read after all retries; the message says which URL and why."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status  # the HTTP status of the last answer, when there was one

    def __reduce__(self):
        return (type(self), (str(self), self.status))


class MirrorMissingError(SourceUnavailableError):
    """The mirror has no payload for a request: a configuration problem that retrying does not fix."""


@dataclass
class FetchResult:
    url: str
    status: int
    content: bytes
    headers: dict[str, str] = field(default_factory=dict)
    from_mirror: bool = False

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def etag(self) -> str | None:
        return self.headers.get("ETag") or self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("Last-Modified") or self.headers.get("last-modified")


def retry_after_seconds(value: str | None) -> float | None:
    """Parse a Retry-After header: seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def redact_url(url: str) -> str:
    return url.split("#")[0]


class HttpClient(dg.ConfigurableResource):
    """HTTP GET with retries (429/5xx/connection errors, exponential backoff with jitter, Retry-After).

    With ``mirror_dir`` set, payloads are read from a local mirror laid out by URL instead
    (see ``wup_pipeline.resources.mirror``); nothing goes over the network then.
    """

    timeout_s: float = Field(default=30.0, description="Connect and read timeout per request.")
    max_attempts: int = Field(default=5, description="Attempts per request, the first one included.")
    backoff_base_s: float = Field(default=1.0, description="First backoff; doubles every attempt.")
    backoff_max_s: float = Field(default=60.0, description="Upper bound of one backoff wait.")
    mirror_dir: str | None = Field(default=None, description="Read payloads from this mirror directory.")
    user_agent: str = "wup-pipeline/0.1 (+https://github.com/wup-pipeline)"

    _session: requests.Session | None = PrivateAttr(default=None)
    _sleep = PrivateAttr(default=time.sleep)

    def _http(self) -> requests.Session:
        if self._session is None:
            self._session = requests.Session()
            self._session.headers["User-Agent"] = self.user_agent
        return self._session

    def get(
        self,
        url: str,
        params: dict | None = None,
        headers: dict[str, str] | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> FetchResult:
        """GET a URL (or its mirror file). ``etag``/``last_modified`` make the request conditional."""
        if self.mirror_dir:
            return self._read_mirror(url, params)
        request_headers = dict(headers or {})
        if etag:
            request_headers["If-None-Match"] = etag
        if last_modified:
            request_headers["If-Modified-Since"] = last_modified
        last_problem = ""
        for attempt in range(1, self.max_attempts + 1):
            wait = self.backoff_base_s * 2 ** (attempt - 1)
            hinted = None
            try:
                response = self._http().get(url, params=params, headers=request_headers, timeout=self.timeout_s)
            except requests.Timeout:
                last_problem = f"timed out after {self.timeout_s:g} s"
            except requests.ConnectionError as exc:
                last_problem = f"connection error: {type(exc).__name__}"
            else:
                if response.status_code in RETRY_STATUSES:
                    last_problem = f"HTTP {response.status_code}"
                    hinted = retry_after_seconds(response.headers.get("Retry-After"))
                    if hinted is not None:
                        wait = hinted
                elif response.status_code >= 400:
                    raise SourceUnavailableError(
                        f"GET {redact_url(response.url)} failed with HTTP {response.status_code}: "
                        f"{response.text[:300]!r}",
                        status=response.status_code,
                    )
                else:
                    return FetchResult(
                        url=response.url,
                        status=response.status_code,
                        content=response.content,
                        headers=dict(response.headers),
                    )
            if attempt < self.max_attempts:
                delay = min(self.backoff_max_s, wait) * random.uniform(0.8, 1.2)
                if hinted is not None:  # jitter must not retry earlier than Retry-After asked
                    delay = max(delay, min(self.backoff_max_s, hinted))
                log.warning("GET %s: %s; retry %d/%d in %.1f s", url, last_problem, attempt,
                            self.max_attempts - 1, delay)
                self._sleep(delay)
        raise SourceUnavailableError(
            f"GET {redact_url(url)} params={params or {}} failed after {self.max_attempts} attempts: {last_problem}"
        )

    def _read_mirror(self, url: str, params: dict | None) -> FetchResult:
        path = mirror_path(Path(self.mirror_dir), url, params)
        if not path.is_file():
            raise MirrorMissingError(
                f"mirror has no payload for GET {url} params={params or {}}: expected file {path}"
            )
        host_path, query = url.split("?")[0], canonical_query(split_url(url, params)[2])
        return FetchResult(
            url=f"{host_path}?{query}" if query else host_path,
            status=200,
            content=path.read_bytes(),
            headers={"X-Mirror-File": str(path)},
            from_mirror=True,
        )
