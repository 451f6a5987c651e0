"""`wup bench`: the whole transform (staging to marts, checks, outputs, publish) on a sample of the national dataset.

The parent process picks gemeenten (consecutive in code order, from a seeded start) whose dwellings add up to at
least the requested number, cuts their rows out of the national files with DuckDB (``prep_seconds``, not part of
the run), and starts a child process that runs the Dagster job in-process with the local-files settings (nothing
is downloaded) against a fresh project directory, then measures the floor: a bare DuckDB scan and group-by of the
same input files. The parent reads the child's peak RSS (its own and its children's, from ``wait4``) and prints
ONE JSON line.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from wup_pipeline.bench.national import NationalDataset

YEAR = 2024
CHILD_FLAG = "--child"


def choose_gemeenten(manifest: dict, dwellings: int, seed: int = 2026) -> list[dict]:
    """Consecutive gemeenten (code order: one partition key range) whose dwellings reach ``dwellings``.

    Of all such runs of gemeenten, those overshooting least (within 2 % of the target) are candidates; the seed
    picks one. All gemeenten when the target is the country or more.
    """
    gemeenten = sorted(manifest["gemeenten"], key=lambda g: g["gemeente_code"])
    counts = np.array([g["dwellings"] for g in gemeenten])
    if dwellings >= counts.sum():
        return gemeenten
    before = np.concatenate([[0], np.cumsum(counts)])  # dwellings of gemeenten[:i]
    ends = np.searchsorted(before, before[:-1] + dwellings)  # first end with enough, per start
    valid = ends < len(before)
    starts = np.flatnonzero(valid)
    overshoot = before[ends[valid]] - before[starts] - dwellings
    candidates = starts[overshoot <= overshoot.min() + 0.02 * dwellings]
    start = int(np.random.default_rng(seed).choice(candidates))
    return gemeenten[start:int(ends[start])]


def prepare_inputs(dataset: NationalDataset, codes: list[str], work: Path) -> dict[str, str]:
    """Input files holding only the chosen gemeenten (the national files themselves when all are chosen)."""
    files = {"vbo": str(dataset.verblijfsobjecten), "panden": str(dataset.panden), "buurten": str(dataset.buurten),
             "labels": str(dataset.labels) if dataset.labels else None}
    if len(codes) == len(dataset.manifest["gemeenten"]):
        return files
    import duckdb
    import pyogrio

    inputs = work / "inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    digits = "(" + ", ".join(f"'{c.removeprefix('GM')}'" for c in codes) + ")"
    con = duckdb.connect()
    try:
        con.execute(f"copy (select * from read_csv('{files['vbo']}', all_varchar=true, header=true) "
                    f"where substr(buurtcode, 3, 4) in {digits}) to '{inputs / 'vbo.csv'}' (header)")
        con.execute(f"copy (select * from read_csv('{files['panden']}', all_varchar=true, header=true) "
                    f"where substr(pand_id, 1, 4) in {digits}) to '{inputs / 'panden.csv'}' (header)")
        if files["labels"]:
            con.execute(f"copy (select * from read_csv('{files['labels']}', all_varchar=true, header=true, "
                        f"delim=';') where substr(BAGVerblijfsobjectID, 1, 4) in {digits}) "
                        f"to '{inputs / 'labels.csv'}' (header, delimiter ';')")
    finally:
        con.close()
    where = "gemeentecode in (" + ", ".join(f"'{c}'" for c in codes) + ")"
    buurten = pyogrio.read_dataframe(files["buurten"], layer="buurten", where=where)
    (inputs / "buurten.gpkg").unlink(missing_ok=True)
    pyogrio.write_dataframe(buurten, inputs / "buurten.gpkg", layer="buurten", driver="GPKG")
    return {"vbo": str(inputs / "vbo.csv"), "panden": str(inputs / "panden.csv"),
            "buurten": str(inputs / "buurten.gpkg"), "labels": str(inputs / "labels.csv") if files["labels"] else None}


def run_bench(data_dir: Path, dwellings: int, work_dir: Path, seed: int = 2026,
              exclude: list[str] | None = None) -> dict:
    """One benchmark run; ``exclude``: asset keys (``marts/x``) left out with everything downstream of them."""
    dataset = NationalDataset.open(data_dir)
    chosen = choose_gemeenten(dataset.manifest, dwellings, seed)
    codes = [g["gemeente_code"] for g in chosen]
    if work_dir.exists():
        shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True)
    started = time.monotonic()
    inputs = prepare_inputs(dataset, codes, work_dir)
    prep_seconds = time.monotonic() - started
    spec = {"codes": codes, "inputs": inputs, "work": str(work_dir),
            "reference_date": dataset.manifest["reference_date"], "exclude": exclude or []}
    child_started = time.monotonic()
    child = subprocess.Popen([sys.executable, "-m", "wup_pipeline.bench.runner", CHILD_FLAG, json.dumps(spec)],
                             stdout=subprocess.PIPE, stderr=open(work_dir / "run.log", "wb"))  # noqa: SIM115
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    lines = [line for line in out.decode().splitlines() if line.startswith("{")]
    if child.returncode == 0 and lines:
        report = json.loads(lines[-1])
    else:  # e.g. killed for memory: report what the event log says
        report = _report_of_dead_child(work_dir, child.returncode, time.monotonic() - child_started)
    totals = {key: sum(g[key] for g in chosen) for key in ("buurten", "dwellings", "verblijfsobjecten", "panden",
                                                            "labels")}
    peak = usage.ru_maxrss * 1024  # Linux reports KiB
    return {
        "dwellings_requested": dwellings, "gemeenten": len(codes), **totals,
        "share_of_national": round(totals["dwellings"] / dataset.manifest["totals"]["dwellings"], 4),
        "total_seconds": report["total_seconds"], "peak_rss_bytes": peak, "peak_rss_gib": round(peak / 2**30, 2),
        "floor_seconds": report["floor_seconds"],
        "ratio_to_floor": round(report["total_seconds"] / max(report["floor_seconds"], 1e-9), 1),
        "success": report["success"], "failed_steps": report["failed_steps"],
        "prep_seconds": round(prep_seconds, 2), "process_seconds": report["process_seconds"],
        "definitions_seconds": report["definitions_seconds"], "run_seconds": report["run_seconds"],
        "layers": report["layers"], "stages": report["stages"], "first_gemeente": codes[0], "last_gemeente": codes[-1],
        "excluded": report.get("excluded", []), **({"error": report["error"]} if report.get("error") else {}),
    }


def _report_of_dead_child(work: Path, returncode: int, seconds: float) -> dict:
    """The stages the child's Dagster event log recorded before it died (it shares the SQLite instance)."""
    import dagster as dg

    signal_name = f"signal {-returncode}" if returncode < 0 else f"exit {returncode}"
    report = {"total_seconds": round(seconds, 2), "run_seconds": None, "definitions_seconds": None,
              "floor_seconds": 0.0, "process_seconds": round(seconds, 2), "success": False, "failed_steps": [],
              "stages": {}, "layers": {}, "error": f"the run process ended by {signal_name}"
              + (" (SIGKILL: out of memory?)" if returncode == -9 else "") + f"; log {work / 'run.log'}"}
    with dg.DagsterInstance.from_config(str(work / "dagster_home")) as instance:
        runs = instance.get_runs(limit=1)
        if runs:
            stages, failed = _stages(instance, runs[0].run_id)
            report.update(stages=stages, failed_steps=failed, layers=_layers(stages),
                          running=[step for step, stage in stages.items() if stage.get("unfinished")])
    return report


def _layers(stages: dict) -> dict[str, float]:
    layers: dict[str, float] = {}
    for step, stage in stages.items():
        layer = "checks" if step.endswith("data_quality") else step.split("__")[0]
        layers[layer] = round(layers.get(layer, 0.0) + stage["seconds"], 2)
    return layers


# --- the child: one pipeline run, then the floor -----------------------------------------------------------------


def _child(spec: dict) -> dict:
    process_started = time.monotonic()
    work = Path(spec["work"])
    home = work / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ["DAGSTER_DISABLE_TELEMETRY"] = "1"

    import dagster as dg

    from wup_pipeline.definitions import BACKFILL_JOB, build_definitions
    from wup_pipeline.orchestration.partitions import partition_key_range_tags
    from wup_pipeline.resources.settings import ProjectPaths

    inputs, codes, exclude = spec["inputs"], spec["codes"], spec.get("exclude") or []
    settings = {
        "buurten_file": inputs["buurten"], "kwb_route": "buurten_file_attributes",
        "bag_verblijfsobjecten_file": inputs["vbo"], "bag_panden_file": inputs["panden"],
        "label_bulk_file": inputs["labels"], "label_reference_date": spec["reference_date"], "cbs_energy": False,
    }
    root = work / "var"
    paths = ProjectPaths(root=root, published_warehouse=root / "warehouse" / "wup.duckdb")
    started = time.monotonic()
    defs = build_definitions(paths, mirror_dir=None, gemeente_code=codes[0], year=YEAR, settings=settings)
    job = defs.resolve_job_def("wup_all" if len(codes) == 1 else BACKFILL_JOB)
    definitions_seconds = time.monotonic() - started
    kwargs = {}
    if exclude:
        graph = defs.resolve_asset_graph()
        left_out = dg.AssetSelection.assets(*[dg.AssetKey(k.split("/")) for k in exclude]).downstream()
        kwargs["asset_selection"] = sorted(
            (dg.AssetSelection.all() - left_out).resolve(graph) & graph.executable_asset_keys,
            key=lambda k: k.to_user_string())
    if job.partitions_def is not None:  # partitioned assets: one single-run backfill over the chosen gemeenten
        if len(codes) == 1:
            kwargs["partition_key"] = codes[0]
        else:
            kwargs["tags"] = partition_key_range_tags(codes[0], codes[-1])
    run_started = time.monotonic()
    sampler = RssSampler().start()
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(instance=instance, raise_on_error=False, **kwargs)
        run_seconds = time.monotonic() - run_started
        sampler.stop()
        stages, failed = _stages(instance, result.run_id, sampler.samples)
    total_seconds = time.monotonic() - started
    floor_seconds = _floor(inputs)
    return {"total_seconds": round(total_seconds, 2), "run_seconds": round(run_seconds, 2),
            "definitions_seconds": round(definitions_seconds, 2), "floor_seconds": round(floor_seconds, 2),
            "process_seconds": round(time.monotonic() - process_started, 2), "success": result.success,
            "failed_steps": failed, "stages": stages, "layers": _layers(stages), "excluded": exclude}


class RssSampler:
    """Resident memory of this process every 0.2 s (from /proc), to tell which step needs the memory."""

    def __init__(self, interval_s: float = 0.2):
        import threading

        self.interval_s, self.samples = interval_s, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> RssSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        page = os.sysconf("SC_PAGE_SIZE")
        while not self._stop.is_set():
            try:
                with open("/proc/self/statm") as handle:
                    self.samples.append((time.time(), int(handle.read().split()[1]) * page))
            except OSError:
                return
            self._stop.wait(self.interval_s)


def _stages(instance, run_id: str, rss_samples: list | None = None) -> tuple[dict, list[str]]:
    """Seconds (step start to end), rows (dagster/row_count of its materialisations) and peak RSS per step."""
    import dagster as dg

    begin, end, rows, failed = {}, {}, {}, []
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or not event.step_key:
            continue
        kind = event.event_type
        if kind == dg.DagsterEventType.STEP_START:
            begin[event.step_key] = entry.timestamp
        elif kind in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE,
                      dg.DagsterEventType.STEP_SKIPPED):
            end[event.step_key] = entry.timestamp
            if kind == dg.DagsterEventType.STEP_FAILURE:
                failed.append(event.step_key)
        elif kind == dg.DagsterEventType.ASSET_MATERIALIZATION:
            value = event.event_specific_data.materialization.metadata.get("dagster/row_count")
            if value is not None:  # a multi-partition run repeats the run's count for every partition: once per asset
                rows.setdefault(event.step_key, {})[event.asset_key] = int(value.value)
    last = max([*begin.values(), *end.values()], default=0.0)
    stages = {}
    for step, start in sorted(begin.items(), key=lambda item: item[1]):
        stop = end.get(step, last)
        peak = max((rss for t, rss in rss_samples or [] if start <= t <= stop), default=None)
        stages[step] = {"seconds": round(stop - start, 2),
                        "rows": sum(rows[step].values()) if step in rows else None,
                        **({"peak_rss_gib": round(peak / 2**30, 2)} if peak else {}),
                        **({} if step in end else {"unfinished": True})}
    return stages, failed


def _floor(inputs: dict) -> float:
    """A bare DuckDB scan and group-by of the same input files (the least any transform must spend)."""
    import duckdb

    con = duckdb.connect()
    started = time.monotonic()
    try:
        con.execute(f"select buurtcode, count(*), sum(try_cast(oppervlakte_m2 as bigint)) from "
                    f"read_csv('{inputs['vbo']}', all_varchar=true, header=true) group by 1").fetchall()
        con.execute(f"select substr(pand_id, 1, 4), count(*), sum(try_cast(footprint_area_m2 as double)) from "
                    f"read_csv('{inputs['panden']}', all_varchar=true, header=true) group by 1").fetchall()
        if inputs.get("labels"):
            con.execute(f"select Energieklasse, count(*) from read_csv('{inputs['labels']}', all_varchar=true, "
                        "header=true, delim=';') group by 1").fetchall()
        return time.monotonic() - started
    finally:
        con.close()


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == CHILD_FLAG:
    print(json.dumps(_child(json.loads(sys.argv[2]))), flush=True)
