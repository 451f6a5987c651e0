"""Local mirror of source payloads, laid out by URL.

A URL ``https://host/a/b/c?x=1&y=2`` lives at ``<mirror>/host/a/b/c/<query-key>.json`` where the
query key is ``_`` for no query and otherwise the canonical (sorted, percent-encoded) query string,
or its sha256 when that would be too long for a file name. The demo generator, the loopback test
server and air-gapped installations all use this one function, so they always agree.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

MAX_READABLE_QUERY = 150


def canonical_query(query: str | dict | None) -> str:
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True) if isinstance(query, str) else list(query.items())
    return urlencode(sorted((str(k), str(v)) for k, v in pairs), quote_via=quote)


def split_url(url: str, params: dict | None = None) -> tuple[str, str, str]:
    """Return (host, path, canonical query) of a URL plus extra query parameters."""
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    pairs += [(k, str(v)) for k, v in (params or {}).items()]
    return parts.netloc, parts.path, canonical_query(dict(pairs) if pairs else None)


def query_key(query: str) -> str:
    if not query:
        return "_"
    safe = quote(query, safe="=&$,()'-_.")
    if len(safe) <= MAX_READABLE_QUERY:
        return safe.replace("/", "%2F")
    return "sha256-" + hashlib.sha256(query.encode()).hexdigest()[:32]


def mirror_path(root: Path, url: str, params: dict | None = None) -> Path:
    host, path, query = split_url(url, params)
    segments = [s for s in path.split("/") if s]
    return Path(root, host, *segments, query_key(query) + ".json")
