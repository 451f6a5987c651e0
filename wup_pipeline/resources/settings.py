"""Where the project keeps its state on disk. Read from the environment only when called."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = PACKAGE_DIR.parent


@dataclass(frozen=True)
class ProjectPaths:
    """All locations under one state root (default ./var, override with WUP_HOME)."""

    root: Path
    published_warehouse: Path

    @property
    def snapshots(self) -> Path:
        return self.root / "snapshots"

    @property
    def build_warehouse(self) -> Path:
        return self.root / "warehouse" / "build.duckdb"

    @property
    def outputs(self) -> Path:
        return self.root / "outputs"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster_home"

    @property
    def demo_area(self) -> Path:
        return self.root / "demo"

    @property
    def demo_mirror(self) -> Path:
        return self.demo_area / "mirror"


def project_paths(environ: dict[str, str] | None = None) -> ProjectPaths:
    """Resolve paths from WUP_HOME / WUP_WAREHOUSE, defaulting to ./var in the working directory."""
    env = os.environ if environ is None else environ
    root = Path(env.get("WUP_HOME") or Path.cwd() / "var").resolve()
    published = Path(env.get("WUP_WAREHOUSE") or root / "warehouse" / "wup.duckdb").resolve()
    return ProjectPaths(root=root, published_warehouse=published)


def sql_models_dir() -> Path:
    """The dbt_like_sql folder of this checkout (the project is installed editable)."""
    return Path(os.environ.get("WUP_SQL_DIR") or REPO_DIR / "dbt_like_sql")
