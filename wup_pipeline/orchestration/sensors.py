"""Sensors that ask each source whether it changed, and request a run of that source's raw asset only.

* ``cbs_tables_sensor``: CBS StatLine ``/<table>/TableInfos`` ``Modified`` of the Kerncijfers (KWB), energy and
  heating tables of the configured years (the same field ``sources.cbs_kwb.fetch_odata_table`` records as the
  snapshot's source version).
* ``pdok_buurten_sensor`` and ``bag_api_sensor``: a conditional GET (``If-None-Match`` / ``If-Modified-Since``)
  of the collection document (``.../collections/buurten``, ``.../collections/verblijfsobject``; items pages carry
  the answer's own ``timeStamp`` and would always look new); 304 means unchanged, else the new
  ``ETag``/``Last-Modified`` (or, without either, the sha256 of the answer) is the new version. For the BAG the
  API route is for small areas; whole municipalities use the monthly extract, watched as a local file.
* ``local_files_sensor``: the local-files route (BAG extract, label bulk file, buurten file, grid operator and
  municipal files): size and modification time of every configured file.

Each sensor keeps the last seen version per source in its cursor (JSON). A source seen for the first time counts
as changed (the warehouse may not have it yet). Only changed sources get a ``RunRequest``, whose
``asset_selection`` is that source's raw asset(s); the models downstream follow by declarative automation
(``automation.py``). A source that cannot be reached is named in the skip reason and keeps its old cursor entry,
so it is asked again at the next tick.

Partitioned raw assets get the run's gemeenten as a partition key (one gemeente) or a key range (many: one
single-run backfill). ``gemeenten=None`` means the gemeente of ``PipelineSettings``; ``"all"`` every CBS gemeente.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import dagster as dg

from wup_pipeline.orchestration.partitions import (
    DEMO_GEMEENTE,
    contiguous_ranges,
    gemeente_codes,
    partition_key_range_tags,
)
from wup_pipeline.resources.http import HttpClient, SourceUnavailableError
from wup_pipeline.resources.paging import PayloadError, parse_json
from wup_pipeline.resources.pipeline_settings import PipelineSettings
from wup_pipeline.sources import bag, cbs_energie, cbs_kwb, pdok_wijkenbuurten

RAW = "raw"
KWB_KEY = dg.AssetKey([RAW, "cbs_kwb"])
ENERGY_KEY = dg.AssetKey([RAW, "cbs_energie_buurt"])
HEATING_KEY = dg.AssetKey([RAW, "cbs_heating_buurt"])
BUURTEN_KEY = dg.AssetKey([RAW, "pdok_buurten"])
BAG_KEYS = (dg.AssetKey([RAW, "bag_verblijfsobjecten"]), dg.AssetKey([RAW, "bag_panden"]))  # one multi-asset
LABELS_KEY = dg.AssetKey([RAW, "energy_labels"])

# PipelineSettings field -> raw asset(s) it feeds (local-files route)
FILE_SETTINGS: dict[str, tuple[dg.AssetKey, ...]] = {
    "buurten_file": (BUURTEN_KEY,),
    "bag_verblijfsobjecten_file": BAG_KEYS,
    "bag_panden_file": BAG_KEYS,
    "bag_column_map": BAG_KEYS,
    "label_bulk_file": (LABELS_KEY,),
    "corporation_portfolio_file": (dg.AssetKey([RAW, "corporation_portfolio"]),),
    "infra_segments_file": (dg.AssetKey([RAW, "infra_segments"]),),
    "infra_buurt_file": (dg.AssetKey([RAW, "infra_buurt"]),),
    "initiatives_file": (dg.AssetKey([RAW, "initiatives"]),),
    "participation_survey_file": (dg.AssetKey([RAW, "participation_buurt"]),),
    "participation_contacts_file": (dg.AssetKey([RAW, "participation_buurt"]),),
}
KLEINVERBRUIK_KEY = dg.AssetKey([RAW, "kleinverbruik"])
SENSOR_INTERVAL_S = 3600  # sources change monthly at most; an hourly question is plenty


# --- which runs to request -------------------------------------------------------------------------------------


def run_requests(
    keys: Sequence[dg.AssetKey],
    run_key: str,
    gemeenten: Sequence[str] | str | None,
    settings: PipelineSettings,
    partitioned: bool,
) -> list[dg.RunRequest]:
    """One run per contiguous range of gemeente partitions (one run for all gemeenten), or one plain run.

    Empty ``keys``: the target job's whole selection (schedules).
    """
    selection = list(keys) or None
    if not partitioned:
        return [dg.RunRequest(run_key=run_key, asset_selection=selection)]
    codes = resolve_gemeenten(gemeenten, settings)
    requests = []
    for first, last in contiguous_ranges(codes):
        if first == last:
            requests.append(dg.RunRequest(run_key=f"{run_key}|{first}", asset_selection=selection,
                                          partition_key=first))
        else:
            requests.append(dg.RunRequest(run_key=f"{run_key}|{first}..{last}", asset_selection=selection,
                                          tags=partition_key_range_tags(first, last)))
    return requests


def resolve_gemeenten(gemeenten: Sequence[str] | str | None, settings: PipelineSettings) -> list[str]:
    if gemeenten is None:
        return [settings.gemeente_code]
    if gemeenten == "all":  # every CBS gemeente; the synthetic demo gemeente only when asked for by name
        return [code for code in gemeente_codes(settings.year) if code != DEMO_GEMEENTE]
    return list(gemeenten)


# --- asking a source for its version --------------------------------------------------------------------------


def http_version(http: HttpClient, url: str, params: dict, previous: dict | None) -> tuple[bool, dict]:
    """(changed, version) of a URL by a conditional GET; version = ETag, Last-Modified and the body's sha256."""
    previous = previous or {}
    result = http.get(url, params=params, etag=previous.get("etag"), last_modified=previous.get("last_modified"))
    if result.not_modified:
        return False, previous
    version = {"etag": result.etag, "last_modified": result.last_modified,
               "sha256": hashlib.sha256(result.content).hexdigest()}
    if not previous:
        return True, version
    if version["etag"] and previous.get("etag"):
        return version["etag"] != previous["etag"], version
    if version["last_modified"] and previous.get("last_modified"):
        return version["last_modified"] != previous["last_modified"], version
    return version["sha256"] != previous.get("sha256"), version


def cbs_modified(http: HttpClient, base_url: str, table_id: str) -> str:
    """``Modified`` of a StatLine table (OData v3 ``TableInfos``)."""
    result = http.get(f"{base_url.rstrip('/')}/{table_id}/TableInfos", params={"$format": "json"})
    infos = parse_json(result)
    rows = infos.get("value") if isinstance(infos, dict) else None
    if not rows or not isinstance(rows, list) or not rows[0].get("Modified"):
        raise PayloadError(f"{result.url}: TableInfos has no 'Modified'")
    return str(rows[0]["Modified"])


def file_version(path: str) -> str:
    """Size and modification time: cheap for national extracts of gigabytes, and what `make` trusts too."""
    stat = os.stat(path)
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def load_cursor(context: dg.SensorEvaluationContext) -> dict:
    try:
        return json.loads(context.cursor) if context.cursor else {}
    except json.JSONDecodeError:
        return {}  # an unreadable cursor: treat every source as new (one extra run, never a missed change)


def sensor_result(requests: list[dg.RunRequest], cursor: dict, unchanged: list[str],
                  problems: list[str]) -> dg.SensorResult:
    text = json.dumps(cursor, sort_keys=True)
    if requests:
        return dg.SensorResult(run_requests=requests, cursor=text)
    reason = "unchanged: " + ", ".join(unchanged) if unchanged else "no source configured for this sensor"
    if problems:
        reason += "; could not ask: " + "; ".join(problems)
    return dg.SensorResult(skip_reason=dg.SkipReason(reason), cursor=text)


# --- the sensors ---------------------------------------------------------------------------------------------


def cbs_tables(settings: PipelineSettings) -> list[tuple[str, dg.AssetKey]]:
    """(table id, raw asset) of the CBS tables the settings use."""
    tables = []
    if settings.kwb_route == "cbs_odata" and settings.year in cbs_kwb.KWB_TABLES:
        tables.append((cbs_kwb.KWB_TABLES[settings.year], KWB_KEY))
    if settings.cbs_energy:
        if settings.year in cbs_energie.ENERGY_TABLES:
            tables.append((cbs_energie.ENERGY_TABLES[settings.year], ENERGY_KEY))
        if settings.heating_year in cbs_energie.HEATING_TABLES:
            tables.append((cbs_energie.HEATING_TABLES[settings.heating_year], HEATING_KEY))
    return tables


def build_cbs_tables_sensor(gemeenten=None, partitioned: bool = True) -> dg.SensorDefinition:
    @dg.sensor(
        name="cbs_tables_sensor",
        minimum_interval_seconds=SENSOR_INTERVAL_S,
        asset_selection=[KWB_KEY, ENERGY_KEY, HEATING_KEY],
        description="Asks CBS StatLine for TableInfos.Modified of the KWB, energy and heating tables; runs the raw "
        "asset of a table whose Modified changed.",
    )
    def cbs_tables_sensor(context: dg.SensorEvaluationContext, http: HttpClient, settings: PipelineSettings):
        cursor, requests, unchanged, problems = load_cursor(context), [], [], []
        for table_id, key in cbs_tables(settings):
            try:
                modified = cbs_modified(http, settings.cbs_odata_base_url, table_id)
            except (SourceUnavailableError, PayloadError) as exc:
                problems.append(f"{table_id}: {exc}")
                continue
            if cursor.get(table_id) == modified:
                unchanged.append(f"{table_id} (Modified {modified})")
                continue
            cursor[table_id] = modified
            requests += run_requests([key], f"{table_id}@{modified}", gemeenten, settings, partitioned)
        return sensor_result(requests, cursor, unchanged, problems)

    return cbs_tables_sensor


def _http_sensor(name: str, description: str, keys: Sequence[dg.AssetKey],
                 probe: Callable[[PipelineSettings], tuple[str, dict] | None], gemeenten, partitioned: bool):
    @dg.sensor(name=name, minimum_interval_seconds=SENSOR_INTERVAL_S, asset_selection=list(keys),
               description=description)
    def _sensor(context: dg.SensorEvaluationContext, http: HttpClient, settings: PipelineSettings):
        cursor, requests, unchanged, problems = load_cursor(context), [], [], []
        target = probe(settings)
        if target is not None:
            url, params = target
            try:
                changed, version = http_version(http, url, params, cursor.get(url))
            except SourceUnavailableError as exc:
                problems.append(f"{url}: {exc}")
            else:
                cursor[url] = version
                if changed:
                    tag = version.get("etag") or version.get("last_modified") or version["sha256"][:16]
                    requests += run_requests(keys, f"{name}@{tag}", gemeenten, settings, partitioned)
                else:
                    unchanged.append(url)
        return sensor_result(requests, cursor, unchanged, problems)

    return _sensor


def pdok_buurten_probe(settings: PipelineSettings) -> tuple[str, dict] | None:
    if settings.buurten_file:
        return None  # local route: local_files_sensor watches the file
    # the collection document, not an items page: items pages carry the answer's own timeStamp
    url = pdok_wijkenbuurten.collection_url(settings.year, "buurten", settings.pdok_base_url).removesuffix("/items")
    return url, {"f": "json"}


def bag_api_probe(settings: PipelineSettings) -> tuple[str, dict] | None:
    if settings.bag_verblijfsobjecten_file:
        return None
    return bag.collection_url("verblijfsobject", settings.bag_base_url).removesuffix("/items"), {"f": "json"}


def build_local_files_sensor(gemeenten=None, partitioned: bool = True) -> dg.SensorDefinition:
    keys = sorted({key for group in FILE_SETTINGS.values() for key in group} | {KLEINVERBRUIK_KEY},
                  key=lambda k: k.to_user_string())

    @dg.sensor(
        name="local_files_sensor",
        minimum_interval_seconds=300,
        asset_selection=keys,
        description="Watches the configured local files (BAG extract, label bulk file, buurten file, grid operator "
        "and municipal files): a changed size or modification time runs the raw asset that reads the file.",
    )
    def local_files_sensor(context: dg.SensorEvaluationContext, settings: PipelineSettings):
        cursor, unchanged, problems = load_cursor(context), [], []
        watched: list[tuple[str, tuple[dg.AssetKey, ...]]] = [
            (getattr(settings, field), group) for field, group in FILE_SETTINGS.items() if getattr(settings, field)
        ]
        watched += [(grid_file.path, (KLEINVERBRUIK_KEY,)) for grid_file in settings.kleinverbruik_files]
        changed_keys: dict[dg.AssetKey, list[str]] = {}
        for path, group in watched:
            try:
                version = file_version(path)
            except OSError as exc:
                problems.append(f"{path}: {exc.strerror or exc}")
                continue
            if cursor.get(path) == version:
                unchanged.append(Path(path).name)
                continue
            cursor[path] = version
            for key in group:
                changed_keys.setdefault(key, []).append(version)
        requests = []
        for group in {group for _, group in watched}:
            if any(key in changed_keys for key in group):
                digest = hashlib.sha256(json.dumps([changed_keys.get(k) for k in group]).encode()).hexdigest()[:16]
                name = "+".join(key.path[-1] for key in group)
                requests += run_requests(list(group), f"files:{name}@{digest}", gemeenten, settings, partitioned)
        return sensor_result(requests, cursor, unchanged, problems)

    return local_files_sensor


def source_sensors(gemeenten: Sequence[str] | str | None = None, partitioned: bool = True) -> list:
    return [
        build_cbs_tables_sensor(gemeenten, partitioned),
        _http_sensor("pdok_buurten_sensor", "Conditional GET of the PDOK wijken-en-buurten buurten collection of "
                     "the year; a new ETag/Last-Modified runs raw.pdok_buurten.", [BUURTEN_KEY],
                     pdok_buurten_probe, gemeenten, partitioned),
        _http_sensor("bag_api_sensor", "Conditional GET of the PDOK BAG OGC API v2 verblijfsobject collection; a new "
                     "ETag/Last-Modified runs the BAG raw assets (API route; the extract route is watched by "
                     "local_files_sensor).", list(BAG_KEYS), bag_api_probe, gemeenten, partitioned),
        build_local_files_sensor(gemeenten, partitioned),
    ]
