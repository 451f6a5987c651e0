"""Immutable, content-addressed snapshots of every source payload, with a provenance index.

Each payload is stored once under ``<root>/sha256/<aa>/<sha256><suffix>`` and never rewritten.
Every retrieval appends one JSON line to ``<root>/provenance.jsonl``; that index outlives any
warehouse rebuild and tells a connector what it fetched before (ETag, Last-Modified, source
version), so an unchanged source is not downloaded again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


@dataclass(frozen=True)
class SnapshotRecord:
    """One retrieved payload: what, from where, when, and its checksum."""

    snapshot_id: str  # sha256 of the content
    source_id: str  # e.g. "cbs_kwb"
    dataset: str  # e.g. "85984NED/TypedDataSet"
    url: str
    retrieved_at: str
    sha256: str
    bytes: int
    path: str
    rows: int | None = None
    licence: str | None = None
    source_version: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    from_mirror: bool = False
    page: int = 0
    retrieval_id: str | None = None  # shared by all pages fetched together

    def as_row(self) -> dict:
        return dataclasses.asdict(self)


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class SnapshotStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    @property
    def index_path(self) -> Path:
        return self.root / "provenance.jsonl"

    def put(self, content: bytes, *, suffix: str = ".json", **fields) -> SnapshotRecord:
        """Store content (once) and append its provenance record."""
        digest = hashlib.sha256(content).hexdigest()
        path = self.root / "sha256" / digest[:2] / f"{digest}{suffix}"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            # Write aside, then rename: a crash never leaves a truncated snapshot behind.
            with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as tmp:
                tmp.write(content)
            os.chmod(tmp.name, 0o444)
            os.replace(tmp.name, path)
        fields.setdefault("retrieved_at", utc_now())
        record = SnapshotRecord(
            snapshot_id=digest, sha256=digest, bytes=len(content), path=str(path), **fields
        )
        self.root.mkdir(parents=True, exist_ok=True)
        with self.index_path.open("a", encoding="utf-8") as index:
            index.write(json.dumps(record.as_row(), sort_keys=True) + "\n")
        return record

    def records(self) -> list[SnapshotRecord]:
        if not self.index_path.exists():
            return []
        with self.index_path.open(encoding="utf-8") as index:
            return [SnapshotRecord(**json.loads(line)) for line in index if line.strip()]

    def latest(self, source_id: str, dataset: str, page: int = 0) -> SnapshotRecord | None:
        """The newest record for a dataset page whose file is still present."""
        found = None
        for record in self.records():
            if (record.source_id, record.dataset, record.page) == (source_id, dataset, page):
                if Path(record.path).exists():
                    found = record
        return found

    def latest_retrieval(self, source_id: str, dataset: str) -> list[SnapshotRecord]:
        """All pages of the newest complete retrieval of a dataset, in page order."""
        first = self.latest(source_id, dataset, page=0)
        if first is None or first.retrieval_id is None:
            return [first] if first else []
        pages = [
            r for r in self.records()
            if r.retrieval_id == first.retrieval_id and r.source_id == source_id and r.dataset == dataset
        ]
        pages.sort(key=lambda r: r.page)
        if not all(Path(r.path).exists() for r in pages):
            return []
        return pages

    def read(self, record: SnapshotRecord) -> bytes:
        return Path(record.path).read_bytes()
