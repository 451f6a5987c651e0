"""Paging over OData (``odata.nextLink`` / ``@odata.nextLink``) and OGC API Features (``rel: next``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

from wup_pipeline.resources.errors import InputError, shorten
from wup_pipeline.resources.http import FetchResult, HttpClient

MAX_PAGES = 100_000  # a guard against a server that links a page to itself forever


class PayloadError(InputError):
    """A payload that cannot be parsed; the message names the URL or file and what is wrong."""

    def __init__(self, message: str):
        message = shorten(message)
        ValueError.__init__(self, message)
        self.file, self.problem, self.record, self.field = None, message, None, None

    def __reduce__(self):
        return (type(self), (self.problem,))


def parse_json(result: FetchResult) -> dict | list:
    try:
        return json.loads(result.content)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = result.headers.get("X-Mirror-File") or result.url
        raise PayloadError(f"{where}: not valid JSON ({exc}); first bytes {result.content[:80]!r}") from exc


def odata_next_link(payload: dict) -> str | None:
    return payload.get("odata.nextLink") or payload.get("@odata.nextLink")


def ogc_next_link(payload: dict) -> str | None:
    for link in payload.get("links") or []:
        if link.get("rel") == "next" and link.get("href"):
            return link["href"]
    return None


def iter_pages(
    client: HttpClient,
    url: str,
    params: dict | None,
    next_link: Callable[[dict], str | None],
    headers: dict[str, str] | None = None,
    first: FetchResult | None = None,
    on_bad_page: Callable[[FetchResult, int], object] | None = None,
) -> Iterator[tuple[FetchResult, dict]]:
    """Yield (raw result, parsed page) for the first page and every page it links to.

    ``first`` is an already fetched first page (e.g. the answer to a conditional request).
    ``on_bad_page(result, page_number)`` runs before a page that does not parse is reported, so the
    connector can keep the payload as delivered.
    """
    seen: set[str] = set()
    current_url, current_params = url, params
    for number in range(MAX_PAGES):
        result = first or client.get(current_url, params=current_params, headers=headers)
        first = None
        try:
            page = parse_json(result)
            if not isinstance(page, dict):
                raise PayloadError(
                    f"{result.url}: expected a JSON object with a page of records, got {type(page).__name__}"
                )
        except PayloadError:
            if on_bad_page is not None:
                on_bad_page(result, number)
            raise
        yield result, page
        link = next_link(page)
        if not link:
            return
        if link in seen:
            raise PayloadError(f"{result.url}: next link {link} was already visited (paging loop)")
        seen.add(link)
        # A next link carries the whole query already.
        current_url, current_params = link, None
    raise PayloadError(f"{url}: more than {MAX_PAGES} pages")
