"""Immutable, content-addressed snapshots of every source payload, with a provenance index.

Each payload is stored once under ``<root>/sha256/<aa>/<sha256><suffix>`` and never rewritten.
Every retrieval appends one JSON line to ``<root>/provenance.jsonl``; that index outlives any
warehouse rebuild and tells a connector what it fetched before (ETag, Last-Modified, source
version), so an unchanged source is not downloaded again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
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


def file_sha256(path: Path, chunk_size: int = 1 << 20) -> tuple[str, int]:
    """sha256 and size of a file, read in chunks (national extracts are gigabytes)."""
    digest, size = hashlib.sha256(), 0
    with Path(path).open("rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


class SnapshotStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    @property
    def index_path(self) -> Path:
        return self.root / "provenance.jsonl"

    def put(self, content: bytes, *, suffix: str = ".json", **fields) -> SnapshotRecord:
        """Store content (once) and append its provenance record."""
        digest = hashlib.sha256(content).hexdigest()
        path = self._content_path(digest, suffix)
        if not path.exists():
            with self._written_aside(path) as tmp:
                tmp.write_bytes(content)
        return self._append(SnapshotRecord(snapshot_id=digest, sha256=digest, bytes=len(content), path=str(path),
                                           **{"retrieved_at": utc_now(), **fields}))

    def put_file(self, path: Path | str, *, source_id: str, dataset: str, **fields) -> SnapshotRecord:
        """Store a local file (streamed: national extracts are gigabytes) once and append its provenance record."""
        path = Path(path)
        digest, size = file_sha256(path)
        suffix = "".join(path.suffixes[-2:]) if path.name.lower().endswith(".gz") else path.suffix
        target = self._content_path(digest, suffix)
        if not target.exists():
            with self._written_aside(target) as tmp:
                shutil.copyfile(path, tmp)
        return self._append(SnapshotRecord(
            snapshot_id=digest, source_id=source_id, dataset=dataset, url=path.resolve().as_uri(),
            sha256=digest, bytes=size, path=str(target), **{"retrieved_at": utc_now(), **fields}))

    def _content_path(self, digest: str, suffix: str) -> Path:
        return self.root / "sha256" / digest[:2] / f"{digest}{suffix}"

    @staticmethod
    @contextlib.contextmanager
    def _written_aside(path: Path) -> Iterator[Path]:
        """Write aside, then rename: a crash never leaves a truncated snapshot behind."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as tmp:
            pass
        try:
            yield Path(tmp.name)
        except BaseException:
            Path(tmp.name).unlink(missing_ok=True)
            raise
        os.chmod(tmp.name, 0o444)
        os.replace(tmp.name, path)

    def _append(self, record: SnapshotRecord) -> SnapshotRecord:
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
