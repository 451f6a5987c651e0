"""Partitions, schedules, source sensors (ticks evaluated against the loopback server) and automation."""

import json
import os
import sys
import warnings
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from wup_pipeline.orchestration import orchestration_definitions
from wup_pipeline.orchestration import partitions as parts
from wup_pipeline.orchestration.automation import (
    MODEL_FRESHNESS,
    MONTHLY_FRESHNESS,
    YEARLY_FRESHNESS,
    apply_automation,
    model_automation_condition,
)
from wup_pipeline.orchestration.schedules import MONTHLY_CRON, YEARLY_CRON, source_schedules
from wup_pipeline.orchestration.sensors import (
    BAG_KEYS,
    ENERGY_KEY,
    HEATING_KEY,
    KWB_KEY,
    LABELS_KEY,
    build_cbs_tables_sensor,
    build_local_files_sensor,
    source_sensors,
)
from wup_pipeline.resources.http import HttpClient
from wup_pipeline.resources.pipeline_settings import PipelineSettings
from wup_pipeline.sources import cbs_energie, cbs_kwb

CBS = "https://opendata.cbs.nl/ODataFeed/odata"
PDOK = "https://api.pdok.nl"
YEAR, HEATING_YEAR = 2024, 2022
TABLES = {cbs_kwb.KWB_TABLES[YEAR]: KWB_KEY, cbs_energie.ENERGY_TABLES[YEAR]: ENERGY_KEY,
          cbs_energie.HEATING_TABLES[HEATING_YEAR]: HEATING_KEY}


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dagster beta/preview warnings
        yield


def settings_for(tmp_path: Path, server=None, **extra) -> PipelineSettings:
    urls = {}
    if server is not None:
        urls = {"cbs_odata_base_url": server.url(CBS), "pdok_base_url": server.url(PDOK),
                "bag_base_url": server.url(PDOK)}
    return PipelineSettings(gemeente_code="GM9999", year=YEAR, heating_year=HEATING_YEAR,
                            snapshot_dir=str(tmp_path / "snap"), outputs_dir=str(tmp_path / "out"), **urls, **extra)


def put_table_infos(server, table_id: str, modified: str) -> None:
    server.put(f"{CBS}/{table_id}/TableInfos", {"odata.metadata": "x", "value": [
        {"ID": 0, "Identifier": table_id, "Modified": modified}]}, params={"$format": "json"})


@pytest.fixture(scope="module")
def instance():
    with dg.DagsterInstance.ephemeral() as ephemeral:
        yield ephemeral


@pytest.fixture(autouse=True)
def _shared_instance(instance, monkeypatch):
    # contexts built without an instance each open (and leave to the garbage collector) an ephemeral one
    monkeypatch.setattr(sys.modules[__name__], "INSTANCE", instance)


INSTANCE = None


def tick(sensor, settings, cursor=None, http=None):
    context = dg.build_sensor_context(instance=INSTANCE, cursor=cursor, resources={
        "http": http or HttpClient(max_attempts=2, backoff_base_s=0.0), "settings": settings})
    return sensor(context)


def selected(result) -> list[list[str]]:
    return [sorted(k.to_user_string() for k in r.asset_selection) for r in result.run_requests]


# --- partitions --------------------------------------------------------------------------------------------


def test_gemeente_partitions_are_the_cbs_list_plus_the_demo():
    keys = parts.gemeente_partitions().get_partition_keys()
    assert len(keys) == 343 and keys == sorted(keys)
    assert "GM9999" in keys and "GM0363" in keys and "GM1992" in keys  # Amsterdam; Voorne aan Zee (2023)
    assert "GM0457" not in keys  # Weesp joined Amsterdam in 2022
    listed = parts.gemeente_list(2025)
    assert listed.height == 342 and listed["list_year"].unique().to_list() == [2024]
    assert listed["n_buurten_2022"].sum() == 14_317
    assert parts.year_partitions().get_partition_keys() == [str(y) for y in sorted(cbs_kwb.KWB_TABLES)]
    assert parts.SINGLE_RUN_BACKFILL == dg.BackfillPolicy.single_run()
    assert parts.SINGLE_RUN_BACKFILL.max_partitions_per_run is None


def test_bad_gemeente_list_names_file_row_and_field(tmp_path, monkeypatch):
    bad = tmp_path / "gemeenten_2030.csv"
    bad.write_text("gemeente_code,gemeente_name,n_buurten_2022\nGM0014,Groningen,150\nG0034,Almere,238\n")
    monkeypatch.setattr(parts, "GEMEENTE_LISTS", {2030: bad})
    parts.gemeente_list.cache_clear()
    try:
        with pytest.raises(parts.PartitionListError, match=r"row 3 field gemeente_code.*'G0034'"):
            parts.gemeente_list(2030)
        with pytest.raises(parts.PartitionListError, match="no municipal list for 2020"):
            parts.gemeente_list(2020)
    finally:
        parts.gemeente_list.cache_clear()


def test_single_run_backfill_hands_the_asset_every_gemeente_of_the_range():
    seen = []

    @dg.asset(partitions_def=parts.gemeente_partitions(), backfill_policy=parts.SINGLE_RUN_BACKFILL)
    def per_gemeente(context: dg.AssetExecutionContext) -> None:
        seen.append(parts.partition_gemeenten(context))

    first, last = parts.contiguous_ranges(["GM0014", "GM0034", "GM0037", "GM0047"])[0]
    with dg.DagsterInstance.ephemeral() as instance:
        assert dg.materialize([per_gemeente], instance=instance,
                              tags=parts.partition_key_range_tags(first, last)).success
        assert dg.materialize([per_gemeente], instance=instance, partition_key="GM9999").success
    assert seen == [["GM0014", "GM0034", "GM0037", "GM0047"], ["GM9999"]]
    assert parts.contiguous_ranges(["GM0014", "GM0037", "GM9999"]) == [
        ("GM0014", "GM0014"), ("GM0037", "GM0037"), ("GM9999", "GM9999")]


# --- CBS sensor --------------------------------------------------------------------------------------------


def test_cbs_sensor_requests_only_the_table_whose_modified_changed(tmp_path, loopback_mirror):
    for table_id in TABLES:
        put_table_infos(loopback_mirror, table_id, "2025-03-27T02:00:00")
    settings = settings_for(tmp_path, loopback_mirror)
    sensor = build_cbs_tables_sensor(partitioned=False)

    first = tick(sensor, settings)
    assert sorted(map(tuple, selected(first))) == sorted((k.to_user_string(),) for k in TABLES.values())
    assert json.loads(first.cursor)[cbs_kwb.KWB_TABLES[YEAR]] == "2025-03-27T02:00:00"

    unchanged = tick(sensor, settings, cursor=first.cursor)
    assert not unchanged.run_requests
    assert "unchanged" in unchanged.skip_reason.skip_message and "85984NED" in unchanged.skip_reason.skip_message

    put_table_infos(loopback_mirror, cbs_energie.ENERGY_TABLES[YEAR], "2025-09-17T02:00:00")
    changed = tick(sensor, settings, cursor=unchanged.cursor)
    assert selected(changed) == [["raw/cbs_energie_buurt"]]
    assert changed.run_requests[0].run_key == f"{cbs_energie.ENERGY_TABLES[YEAR]}@2025-09-17T02:00:00"
    assert loopback_mirror.count(f"/opendata.cbs.nl/ODataFeed/odata/{cbs_kwb.KWB_TABLES[YEAR]}/TableInfos") == 3


def test_cbs_sensor_partitioned_requests_one_range_run_for_all_gemeenten(tmp_path, loopback_mirror):
    put_table_infos(loopback_mirror, cbs_kwb.KWB_TABLES[YEAR], "2025-03-27T02:00:00")
    settings = settings_for(tmp_path, loopback_mirror, cbs_energy=False)
    everywhere = tick(build_cbs_tables_sensor(gemeenten="all"), settings)
    assert len(everywhere.run_requests) == 1
    assert everywhere.run_requests[0].tags[parts.RANGE_START_TAG] == "GM0014"
    assert everywhere.run_requests[0].tags[parts.RANGE_END_TAG] == "GM1992"  # the demo gemeente is not in "all"
    own = tick(build_cbs_tables_sensor(), settings)  # default: the settings' gemeente
    assert [r.partition_key for r in own.run_requests] == ["GM9999"]


def test_unreachable_source_is_named_and_asked_again(tmp_path, loopback_mirror):
    table_id = cbs_kwb.KWB_TABLES[YEAR]
    put_table_infos(loopback_mirror, table_id, "2025-03-27T02:00:00")
    settings = settings_for(tmp_path, loopback_mirror, cbs_energy=False)
    sensor = build_cbs_tables_sensor(partitioned=False)
    loopback_mirror.fail(f"/opendata.cbs.nl/ODataFeed/odata/{table_id}/TableInfos", 503, 503)
    down = tick(sensor, settings)
    assert not down.run_requests and "could not ask" in down.skip_reason.skip_message
    assert table_id not in json.loads(down.cursor)
    assert selected(tick(sensor, settings, cursor=down.cursor)) == [["raw/cbs_kwb"]]


# --- HTTP validators (PDOK) ------------------------------------------------------------------------------------


def test_pdok_sensor_uses_etag_and_requests_buurten_only_when_changed(tmp_path, loopback_mirror):
    collection = f"{PDOK}/cbs/wijken-en-buurten-{YEAR}/ogc/v1/collections/buurten"
    loopback_mirror.put(collection, {"id": "buurten", "title": "Buurten 2024"}, params={"f": "json"})
    settings = settings_for(tmp_path, loopback_mirror)
    sensor = next(s for s in source_sensors(partitioned=False) if s.name == "pdok_buurten_sensor")

    first = tick(sensor, settings)
    assert selected(first) == [["raw/pdok_buurten"]]
    again = tick(sensor, settings, cursor=first.cursor)
    assert not again.run_requests and again.skip_reason is not None
    assert loopback_mirror.log[-1][2] == 304  # asked conditionally, answered Not Modified

    loopback_mirror.put(collection, {"id": "buurten", "title": "Buurten 2024 (revised)"}, params={"f": "json"})
    changed = tick(sensor, settings, cursor=again.cursor)
    assert selected(changed) == [["raw/pdok_buurten"]]
    assert changed.run_requests[0].run_key != first.run_requests[0].run_key


def test_api_sensors_stand_aside_on_the_local_files_route(tmp_path, loopback_mirror):
    settings = settings_for(tmp_path, loopback_mirror, buurten_file=str(tmp_path / "b.gpkg"),
                            bag_verblijfsobjecten_file=str(tmp_path / "v.csv"))
    for sensor in source_sensors(partitioned=False)[1:3]:
        result = tick(sensor, settings)
        assert not result.run_requests and "no source configured" in result.skip_reason.skip_message
    assert loopback_mirror.count("/") == 0


# --- local files ---------------------------------------------------------------------------------------------


def test_local_files_sensor_requests_the_asset_of_the_changed_file(tmp_path):
    files = {name: tmp_path / name for name in ("vbo.csv", "pand.csv", "labels.csv")}
    for path in files.values():
        path.write_text("header\n")
    settings = settings_for(tmp_path, bag_verblijfsobjecten_file=str(files["vbo.csv"]),
                            bag_panden_file=str(files["pand.csv"]), label_bulk_file=str(files["labels.csv"]))
    sensor = build_local_files_sensor(partitioned=False)
    first = tick(sensor, settings)
    assert sorted(map(tuple, selected(first))) == [("raw/bag_panden", "raw/bag_verblijfsobjecten"),
                                                   ("raw/energy_labels",)]
    assert not tick(sensor, settings, cursor=first.cursor).run_requests

    files["labels.csv"].write_text("header\nnew row\n")
    stat = files["labels.csv"].stat()
    os.utime(files["labels.csv"], ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    changed = tick(sensor, settings, cursor=first.cursor)
    assert selected(changed) == [[LABELS_KEY.to_user_string()]]

    files["vbo.csv"].unlink()
    gone = tick(sensor, settings, cursor=changed.cursor)
    assert not gone.run_requests and "vbo.csv" in gone.skip_reason.skip_message


# --- schedules, jobs and automation -------------------------------------------------------------------------------


def test_schedules_cron_targets_and_partitioned_requests(tmp_path):
    monthly, yearly = source_schedules(gemeenten=["GM0363", "GM9999"])
    assert (monthly.cron_schedule, monthly.job_name) == (MONTHLY_CRON, "refresh_bag_labels") == ("0 3 10 * *",
                                                                                                 "refresh_bag_labels")
    assert (yearly.cron_schedule, yearly.job_name) == (YEARLY_CRON, "refresh_cbs") == ("0 3 1 10 *", "refresh_cbs")
    assert monthly.execution_timezone == "Europe/Amsterdam"
    context = dg.build_schedule_context(instance=INSTANCE, resources={"settings": settings_for(tmp_path)},
                                        scheduled_execution_time=datetime(2026, 3, 10, 3, tzinfo=UTC))
    requests = monthly(context)
    assert [r.partition_key for r in requests] == ["GM0363", "GM9999"]
    assert all(r.asset_selection is None for r in requests)  # the job's whole selection
    assert requests[0].run_key == "monthly_bag_labels@2026-03-10|GM0363"

    jobs = {job.name: job for job in orchestration_definitions()["jobs"]}

    @dg.multi_asset(specs=[dg.AssetSpec(key) for key in (*BAG_KEYS, LABELS_KEY)])
    def monthly_sources(): ...

    @dg.asset(key=["raw", "cbs_kwb"])
    def kwb() -> None: ...

    @dg.asset(key=["staging", "stg_bag"], deps=[BAG_KEYS[0]])
    def stg_bag() -> None: ...

    @dg.asset(key=["outputs", "published_warehouse"], deps=[stg_bag, kwb])
    def published() -> None: ...

    defs = dg.Definitions(assets=[monthly_sources, kwb, stg_bag, published], jobs=list(jobs.values()))
    chosen = defs.resolve_job_def("refresh_bag_labels").asset_layer.selected_asset_keys
    assert {k.to_user_string() for k in chosen} == {"raw/bag_verblijfsobjecten", "raw/bag_panden", "raw/energy_labels",
                                                     "staging/stg_bag", "outputs/published_warehouse"}


def test_models_follow_their_sources_by_automation_and_carry_freshness():
    @dg.asset(key=["raw", "bag_verblijfsobjecten"], group_name="sources")
    def vbo() -> None: ...

    @dg.asset(key=["staging", "stg_bag"], group_name="staging",
              deps=[vbo, dg.AssetKey(["audit", "monitoring_buurt_history"])])  # the warehouse's own table
    def stg_bag() -> None: ...

    @dg.asset(key=["marts", "mart"], group_name="marts", deps=[stg_bag])
    def mart() -> None: ...

    assets = apply_automation([vbo, stg_bag, mart])
    specs = {spec.key.to_user_string(): spec for a in assets for spec in a.specs}
    assert specs["raw/bag_verblijfsobjecten"].automation_condition is None
    assert specs["raw/bag_verblijfsobjecten"].freshness_policy == MONTHLY_FRESHNESS
    assert specs["marts/mart"].freshness_policy == MODEL_FRESHNESS != YEARLY_FRESHNESS
    assert specs["marts/mart"].automation_condition == model_automation_condition()

    defs = dg.Definitions(assets=assets)
    followers = [dg.AssetKey(["staging", "stg_bag"]), dg.AssetKey(["marts", "mart"])]
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        assert result.total_requested == 0  # nothing updated yet
        dg.materialize([assets[0]], instance=instance)
        result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=result.cursor)
        assert [result.get_num_requested(k) for k in followers] == [1, 1]  # one tick, the whole chain
        result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=result.cursor)
        assert result.total_requested == 0


def test_plain_eager_would_wait_for_the_audit_table_for_ever():
    # why model_automation_condition exists: the same graph with Dagster's eager() never runs
    @dg.asset(key=["raw", "x"])
    def x() -> None: ...

    @dg.asset(key=["staging", "y"], deps=[x, dg.AssetKey(["audit", "h"])],
              automation_condition=dg.AutomationCondition.eager())
    def y() -> None: ...

    with dg.DagsterInstance.ephemeral() as instance:
        defs = dg.Definitions(assets=[x, y])
        result = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        dg.materialize([x], instance=instance)
        after = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=result.cursor)
        assert after.total_requested == 0
