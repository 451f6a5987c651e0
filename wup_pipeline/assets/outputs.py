"""Outputs people read, and publishing the warehouse once everything upstream succeeded."""


import os
import tempfile
from pathlib import Path

import dagster as dg

from wup_pipeline.assets.raw import WAREHOUSE_POOL
from wup_pipeline.reports.factscan_html import render_buurt_page, render_index_page
from wup_pipeline.resources.pipeline_settings import PipelineSettings
from wup_pipeline.resources.snapshots import utc_now
from wup_pipeline.resources.warehouse import Warehouse

FACTSCAN_MART = dg.AssetKey(["marts", "factscan_buurt"])


def write_text_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, delete=False) as tmp:
        tmp.write(text)
    os.replace(tmp.name, path)


@dg.asset(
    key=["outputs", "factscan_html"],
    deps=[FACTSCAN_MART],
    group_name="outputs",
    kinds={"html"},
    pool=WAREHOUSE_POOL,
    description="One factscan HTML page per buurt and an overview page for the gemeente.",
)
def factscan_html(
    context: dg.AssetExecutionContext, warehouse: Warehouse, settings: PipelineSettings
) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        cursor = con.execute(
            "select * from marts.factscan_buurt where gemeente_code = ? order by buurt_code",
            [settings.gemeente_code],
        )
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
        cursor = con.execute(
            "select source_id, dataset, min(retrieved_at) as retrieved_at, any_value(source_version) "
            "as source_version, any_value(licence) as licence, min(sha256) as sha256 from audit.snapshots "
            "group by source_id, dataset order by source_id, dataset"
        )
        names = [d[0] for d in cursor.description]
        sources = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
    out_dir = Path(settings.outputs_dir) / settings.gemeente_code / "factscan"
    generated_at = utc_now()
    for row in rows:
        write_text_atomic(out_dir / f"{row['buurt_code']}.html", render_buurt_page(row, sources, generated_at))
    write_text_atomic(out_dir / "index.html", render_index_page(rows, generated_at))
    context.log.info(f"factscan pages for {len(rows)} buurten in {out_dir}")
    return dg.MaterializeResult(
        metadata={"path": dg.MetadataValue.path(str(out_dir / "index.html")), "pages": len(rows)}
    )


def published_warehouse_asset(upstream: list[dg.AssetKey]) -> dg.AssetsDefinition:
    """Publishing waits for every other asset of the run (and, through them, their blocking checks)."""

    @dg.asset(
        key=["outputs", "published_warehouse"],
        deps=upstream,
        group_name="outputs",
        kinds={"duckdb"},
        pool=WAREHOUSE_POOL,
        description="The warehouse analysts query: the build file copied and renamed into place atomically, "
        "only after every upstream asset and blocking check succeeded.",
    )
    def published_warehouse(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        path = warehouse.publish()
        context.log.info(f"published {path}")
        return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path))})

    return published_warehouse
