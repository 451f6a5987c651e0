"""Shared fixtures: a loopback HTTP server serving a mirror directory; the SQL lineage cache kept per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from wup_pipeline_tests.loopback_server import LoopbackMirror


@pytest.fixture(scope="session", autouse=True)
def lineage_cache_per_session(tmp_path_factory) -> Iterator[None]:
    """Tests share one SQL lineage cache (subprocesses inherit it) and leave the user's ~/.cache alone."""
    mp = pytest.MonkeyPatch()
    mp.setenv("WUP_LINEAGE_CACHE_DIR", str(tmp_path_factory.mktemp("sql-lineage-cache")))
    yield
    mp.undo()


@pytest.fixture
def mirror_root(tmp_path: Path) -> Path:
    root = tmp_path / "mirror"
    root.mkdir()
    return root


@pytest.fixture
def loopback_mirror(mirror_root: Path) -> Iterator[LoopbackMirror]:
    """A running loopback server over ``mirror_root``.

    It has ``.base_url``, ``.requests`` (per path), ``.log``, ``.fail(path_prefix, *faults)`` and ``.put()``.
    """
    with LoopbackMirror(mirror_root) as server:
        yield server
