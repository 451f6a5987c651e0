"""The bad-input corpus (bad_inputs/manifest.yml): every broken input ends in a clear error or in quarantine.

* each case's input goes to its real reader: connectors are served the broken payload over HTTP on 127.0.0.1
  (``LoopbackMirror``) next to the demo's good payloads; local-file readers read the file;
* ``expected: error``: an ``InputError`` (or the named type) whose message names file, record and field and is not
  a flood (a 1 MB cell must not come back as a 1 MB message);
* ``expected: quarantine``: the reader accepts the rows, the table's suite moves the implausible ones to
  ``quarantine.<table>`` with their reasons, and the staging model built on the table has exactly the clean rows;
* ``snapshot: kept``: the payload the reader got is in the SnapshotStore afterwards (never a lost raw snapshot);
* one end-to-end run of the demo with two corrupted inputs: their branches stop with the file/record/field message
  in the Dagster step failure, the others finish, and the published warehouse stays byte-identical.

Cases that do not yet end as they should carry ``known_issue`` / ``snapshot_issue`` in the manifest and xfail
strictly: fixing the source makes the test fail until the manifest says so.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import re
import shutil
import struct
import zipfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import polars as pl
import pytest
import yaml

from wup_pipeline.assets.raw import PARTITION_COLUMN, write_partition_rows, write_raw_table
from wup_pipeline.assets.raw_energy import ENERGY_SCHEMA, KLEINVERBRUIK_SCHEMA
from wup_pipeline.checks.gate import run_gate
from wup_pipeline.checks.quarantine import quarantine_table_name
from wup_pipeline.checks.suites import SUITES
from wup_pipeline.definitions import build_definitions
from wup_pipeline.demo.area import DEMO_HEATING_YEAR, write_demo_area
from wup_pipeline.demo.generator import DEMO_GEMEENTE, DEMO_YEAR
from wup_pipeline.resources.errors import InputError
from wup_pipeline.resources.http import HttpClient
from wup_pipeline.resources.mirror import mirror_path
from wup_pipeline.resources.settings import ProjectPaths, sql_models_dir
from wup_pipeline.resources.snapshots import SnapshotStore
from wup_pipeline.resources.warehouse import Warehouse
from wup_pipeline.sources import (
    bag,
    cbs_energie,
    cbs_kwb,
    corporation_portfolio,
    ep_online,
    kleinverbruik,
    municipal_files,
    participation,
    pdok_wijkenbuurten,
)
from wup_pipeline.sources.cbs_kwb import ColumnResolutionError
from wup_pipeline_tests.loopback_server import REWRITTEN_HOSTS, LoopbackMirror

CORPUS = Path(__file__).parent / "bad_inputs"
MAX_MESSAGE_CHARS = 5_000  # a clear message names file, record and field; it does not repeat a megabyte of input
ERROR_TYPES = {"InputError": InputError, "ColumnResolutionError": ColumnResolutionError}
LABEL_REFERENCE_DATE = date(2025, 6, 1)
BAG_BBOX = (153_000.0, 455_000.0, 153_100.0, 455_100.0)  # the corpus's own BAG pages, not the demo's
VBO_ID = "9999010000000001"
EMPTY_PAGE = b'{"type":"FeatureCollection","features":[]}'
STAGING_MODELS = {  # raw table -> the staging model that reads it (downstream must see the clean rows only)
    "raw.bag_verblijfsobjecten": "staging/bag/stg_bag__verblijfsobjecten.sql",
    "raw.bag_panden": "staging/bag/stg_bag__panden.sql",
    "raw.cbs_energie_buurt": "staging/cbs/stg_cbs__energie_buurt.sql",
    "raw.energy_labels": "staging/ep_online/stg_ep_online__labels.sql",
    "raw.kleinverbruik": "staging/grid/stg_grid__kleinverbruik.sql",
}


def load_cases() -> list[dict]:
    return yaml.safe_load((CORPUS / "manifest.yml").read_text(encoding="utf-8"))["cases"]


CASES = load_cases()


@pytest.fixture(autouse=True)
def _dagster_env(monkeypatch):
    monkeypatch.setenv("DAGSTER_DISABLE_TELEMETRY", "1")


@pytest.fixture(scope="module")
def demo_area(tmp_path_factory):
    """The demo's payloads and files, written once: the good context of every connector case and the e2e run."""
    return write_demo_area(tmp_path_factory.mktemp("corpus_demo") / "demo")


# --- building inputs --------------------------------------------------------------------------------------------


def make_long_field(recipe: dict, folder: Path) -> Path:
    base = CORPUS / recipe["base"]
    text = base.read_bytes()
    token = recipe["token"].encode()
    assert token in text, f"{base}: token {recipe['token']!r} not found"
    path = folder / base.name
    path.write_bytes(text.replace(token, recipe.get("fill", "9").encode() * recipe["length"], 1))
    return path


def label_zip(unpacked_bytes: int) -> bytes:
    """A bulk-label zip: one CSV member, a real header and then zeros (deflate shrinks them ~1,000 times)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive, archive.open("labels.csv", "w") as member:
        header = b"Registratiedatum;Postcode;Huisnummer;BAGVerblijfsobjectID;Energieklasse\n"
        member.write(header)
        left, chunk = unpacked_bytes - len(header), b"0" * (1 << 20)
        while left > 0:
            member.write(chunk[:left])
            left -= len(chunk)
    return buffer.getvalue()


def make_zip_bomb(recipe: dict, folder: Path) -> Path:
    path = folder / "labels.zip"
    path.write_bytes(label_zip(recipe["unpacked_bytes"]))
    return path


def make_zip_lying_header(recipe: dict, folder: Path) -> Path:
    """The same zip with the uncompressed size in the local header and the central directory set to a small value."""
    data = bytearray(label_zip(recipe["unpacked_bytes"]))
    assert data[:4] == b"PK\x03\x04"
    struct.pack_into("<I", data, 22, recipe["declared_bytes"])  # local file header: uncompressed size
    central = data.find(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, recipe["declared_bytes"])  # central directory: uncompressed size
    path = folder / "labels.zip"
    path.write_bytes(bytes(data))
    return path


def make_xlsx(recipe: dict, folder: Path) -> Path:
    """The base CSV (';'-separated) as a workbook whose header sits below ``title_rows`` rows of titles."""
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for number in range(recipe["title_rows"]):
        sheet.append([f"Export vastgoedsysteem, titelregel {number + 1}"])
    for line in (CORPUS / recipe["base"]).read_text(encoding="utf-8").splitlines():
        sheet.append(line.split(";"))
    path = folder / "portfolio.xlsx"
    workbook.save(path)
    return path


MAKERS: dict[str, Callable[[dict, Path], Path]] = {
    "long_field": make_long_field, "zip_bomb": make_zip_bomb, "zip_lying_header": make_zip_lying_header,
    "xlsx": make_xlsx,
}


def case_input(case: dict, folder: Path) -> Path:
    if "make" in case:
        return MAKERS[case["make"]["kind"]](case["make"], folder)
    return CORPUS / case["file"]


# --- running a case ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Run:
    """What came of feeding one case's input to its reader."""

    result: Any = None
    error: Exception | None = None
    store: SnapshotStore | None = None
    payload: bytes | None = None  # the bytes the reader was given (as served, for connectors)
    input_path: Path | None = None


@dataclasses.dataclass
class Context:
    case: dict
    folder: Path  # this case's scratch folder
    input_path: Path
    demo_mirror: Path
    store: SnapshotStore

    @property
    def options(self) -> dict:
        return dict(self.case.get("options") or {})


class Served:
    """The demo's payloads of some hosts (symlinked, not copied) with the case's payloads in place, on loopback."""

    def __init__(self, context: Context, hosts: tuple[str, ...], payloads: list[tuple[str, dict | None, bytes]]):
        root = context.folder / "mirror"
        for host in hosts:
            shutil.copytree(context.demo_mirror / host, root / host, copy_function=os.symlink)
        for url, params, content in payloads:
            path = mirror_path(root, url, params)
            if path.is_symlink() or path.exists():
                path.unlink()
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        self.server = LoopbackMirror(root).start()
        self.client = HttpClient(timeout_s=5.0, max_attempts=1)

    def base(self, real_base: str) -> str:
        return self.server.url(real_base)

    def as_served(self, content: bytes) -> bytes:
        """The loopback server points absolute links on the real hosts back at itself."""
        for host in REWRITTEN_HOSTS:
            content = content.replace(f"https://{host}/".encode(), f"{self.server.base_url}/{host}/".encode())
        return content


def serve_and_call(context: Context, hosts: tuple[str, ...], target: tuple[str, dict | None],
                   call: Callable[[Served], Any], extra: list[tuple[str, dict | None, bytes]] = ()) -> Run:
    """Serve the case's input at ``target`` (url, params), and ``extra`` payloads, then call the connector."""
    payload = context.input_path.read_bytes()
    served = Served(context, hosts, [(*target, payload), *extra])
    try:
        return finish(lambda: call(served), context, served.as_served(payload))
    finally:
        served.server.stop()


def finish(call: Callable[[], Any], context: Context, payload: bytes) -> Run:
    run = Run(store=context.store, payload=payload, input_path=context.input_path)
    try:
        run.result = call()
    except Exception as exc:  # every kind is recorded: the test says which kinds are acceptable
        run.error = exc
    return run


CBS_HOST, PDOK_HOST = "opendata.cbs.nl", "api.pdok.nl"


def cbs_payload(table_id: str, target: str) -> tuple[str, dict]:
    url = f"{cbs_kwb.DEFAULT_BASE_URL}/{table_id}"
    return {
        "table_infos": (f"{url}/TableInfos", {"$format": "json"}),
        "data_properties": (f"{url}/DataProperties", {"$format": "json"}),
        "woningkenmerken": (f"{url}/Woningkenmerken", {"$format": "json"}),
        "typed_data_set": (f"{url}/TypedDataSet", {"$format": "json",
                                                   "$filter": cbs_kwb.region_filter(DEMO_GEMEENTE)}),
    }[target]


def read_fetch_kwb(context: Context) -> Run:
    return serve_and_call(
        context, (CBS_HOST,), cbs_payload(cbs_kwb.KWB_TABLES[DEMO_YEAR], context.case["target"]),
        lambda s: cbs_kwb.fetch_kwb(s.client, context.store, DEMO_GEMEENTE, DEMO_YEAR,
                                    s.base(cbs_kwb.DEFAULT_BASE_URL)))


def read_fetch_energy(context: Context) -> Run:
    return serve_and_call(
        context, (CBS_HOST,), cbs_payload(cbs_energie.ENERGY_TABLES[DEMO_YEAR], context.case["target"]),
        lambda s: cbs_energie.fetch_energy(s.client, context.store, DEMO_GEMEENTE, DEMO_YEAR,
                                           s.base(cbs_kwb.DEFAULT_BASE_URL)))


def read_fetch_heating(context: Context) -> Run:
    return serve_and_call(
        context, (CBS_HOST,), cbs_payload(cbs_energie.HEATING_TABLES[DEMO_HEATING_YEAR], context.case["target"]),
        lambda s: cbs_energie.fetch_heating(s.client, context.store, DEMO_GEMEENTE, DEMO_HEATING_YEAR,
                                            s.base(cbs_kwb.DEFAULT_BASE_URL)))


def read_fetch_buurten(context: Context) -> Run:
    params = {"f": "json", "limit": pdok_wijkenbuurten.PAGE_LIMIT, "crs": pdok_wijkenbuurten.CRS_RD,
              "gemeentecode": DEMO_GEMEENTE}
    return serve_and_call(
        context, (PDOK_HOST,), (pdok_wijkenbuurten.collection_url(DEMO_YEAR, "buurten"), params),
        lambda s: pdok_wijkenbuurten.fetch_buurten(s.client, context.store, DEMO_GEMEENTE, DEMO_YEAR,
                                                   s.base(pdok_wijkenbuurten.DEFAULT_BASE_URL)))


def read_fetch_bag(context: Context) -> Run:
    params = bag.bbox_params(BAG_BBOX)
    collection = context.case["target"]
    other = "pand" if collection == "verblijfsobject" else "verblijfsobject"
    return serve_and_call(
        context, (), (bag.collection_url(collection), params),
        lambda s: bag.fetch_bag(s.client, context.store, BAG_BBOX, base_url=s.base(bag.DEFAULT_BASE_URL)),
        extra=[(bag.collection_url(other), params, EMPTY_PAGE)])


def read_fetch_labels_api(context: Context) -> Run:
    url = f"{ep_online.DEFAULT_BASE_URL}/PandEnergielabel/AdresseerbaarObject/{VBO_ID}"
    return serve_and_call(
        context, (), (url, None),
        lambda s: ep_online.fetch_labels_api(s.client, context.store, [VBO_ID], "corpus-test-key",
                                             LABEL_REFERENCE_DATE, base_url=s.base(ep_online.DEFAULT_BASE_URL)))


def read_enexis_wfs(context: Context) -> Run:
    params = {"service": "WFS", "version": "2.0.0", "request": "GetFeature",
              "typeName": kleinverbruik.ENEXIS_LAYERS["electricity"], "outputFormat": "application/json",
              "srsName": "EPSG:28992", "count": 1000, "startIndex": 0}
    return serve_and_call(
        context, (), (kleinverbruik.ENEXIS_WFS_URL, params),
        lambda s: kleinverbruik.read_enexis_wfs(s.client, context.store, DEMO_YEAR,
                                                base_url=s.base(kleinverbruik.ENEXIS_WFS_URL),
                                                products=("electricity",)))


def local(call: Callable[[Context, Path], Any]) -> Callable[[Context], Run]:
    def read(context: Context) -> Run:
        return finish(lambda: call(context, context.input_path), context, context.input_path.read_bytes())
    return read


def bag_extract(context: Context, path: Path):
    ok = {"verblijfsobjecten": CORPUS / "bag_extract/verblijfsobjecten_ok.csv",
          "panden": CORPUS / "bag_extract/panden_ok.csv"}
    ok[context.case["role"]] = path
    return bag.read_bag_extract(ok["verblijfsobjecten"], ok["panden"], store=context.store)


def survey_or_contacts(context: Context, path: Path):
    survey = path if context.case["role"] == "survey" else None
    contacts = path if context.case["role"] == "contacts" else None
    return participation.aggregate_participation(survey, contacts)


READERS: dict[str, Callable[[Context], Run]] = {
    "cbs_kwb.fetch_kwb": read_fetch_kwb,
    "cbs_energie.fetch_energy": read_fetch_energy,
    "cbs_energie.fetch_heating": read_fetch_heating,
    "pdok_wijkenbuurten.fetch_buurten": read_fetch_buurten,
    "pdok_wijkenbuurten.read_buurten_file": local(lambda c, p: pdok_wijkenbuurten.read_buurten_file(p)),
    "bag.fetch_bag": read_fetch_bag,
    "bag.read_bag_extract": local(bag_extract),
    "ep_online.fetch_labels_api": read_fetch_labels_api,
    "ep_online.read_label_bulk": local(lambda c, p: ep_online.read_label_bulk(
        p, LABEL_REFERENCE_DATE, store=c.store, **c.options)),
    "kleinverbruik.read_kleinverbruik": local(lambda c, p: kleinverbruik.read_kleinverbruik(p, "liander", DEMO_YEAR)),
    "kleinverbruik.read_enexis_wfs": read_enexis_wfs,
    "corporation_portfolio.read_corporation_portfolio": local(
        lambda c, p: corporation_portfolio.read_corporation_portfolio(p)),
    "municipal_files.read_infra_segments": local(lambda c, p: municipal_files.read_infra_segments(p)),
    "municipal_files.read_infra_buurt": local(lambda c, p: municipal_files.read_infra_buurt(p)),
    "municipal_files.read_initiatives": local(lambda c, p: municipal_files.read_initiatives(p)),
    "participation.aggregate_participation": local(survey_or_contacts),
}


@pytest.fixture(scope="module")
def run_case(tmp_path_factory, demo_area):
    """Runs each case once (the outcome and the snapshot tests share the run)."""
    done: dict[str, Run] = {}

    def run(case: dict) -> Run:
        if case["id"] not in done:
            folder = tmp_path_factory.mktemp(case["id"])
            context = Context(case, folder, case_input(case, folder), demo_area.root / "mirror",
                              SnapshotStore(folder / "snapshots"))
            done[case["id"]] = READERS[case["reader"]](context)
        return done[case["id"]]

    return run


# --- outcomes ---------------------------------------------------------------------------------------------------


def in_demo_gemeente(frame: pl.DataFrame) -> pl.DataFrame:
    """The sources fetched per gemeente carry the partition they were fetched for (assets/raw.py)."""
    return frame.with_columns(pl.lit(DEMO_GEMEENTE).alias(PARTITION_COLUMN))


def raw_tables(case: dict, result) -> dict[str, tuple[pl.DataFrame, list]]:
    """The raw tables a quarantine case writes, as the raw assets write them (the suite's references included)."""
    reader = case["reader"]
    if reader == "bag.read_bag_extract":
        return {"raw.bag_panden": (in_demo_gemeente(result.panden), []),
                "raw.bag_verblijfsobjecten": (in_demo_gemeente(result.verblijfsobjecten), [])}
    if reader == "cbs_energie.fetch_energy":
        return {"raw.cbs_energie_buurt": (in_demo_gemeente(result.frame).cast(ENERGY_SCHEMA), result.snapshots)}
    if reader == "ep_online.read_label_bulk":
        return {"raw.energy_labels": (in_demo_gemeente(result.labels), result.snapshots)}
    if reader == "kleinverbruik.read_kleinverbruik":
        frame = result.with_columns(pl.lit(Path(case["file"]).name).alias("source_file")).cast(KLEINVERBRUIK_SCHEMA)
        return {"raw.kleinverbruik": (frame, [])}
    raise AssertionError(f"{case['id']}: no raw table known for reader {reader}")


def result_frame(result) -> pl.DataFrame:
    for attribute in ("labels", "frame"):
        if hasattr(result, attribute):
            return getattr(result, attribute)
    return result


def describe(error: Exception | None) -> str:
    return "no error" if error is None else f"{type(error).__name__}: {str(error)[:500]}"


def check_error(case: dict, run: Run) -> None:
    assert run.error is not None, f"the reader accepted the input: {str(run.result)[:300]}"
    wanted = ERROR_TYPES[case.get("error_type", "InputError")]
    assert isinstance(run.error, wanted), f"expected {wanted.__name__}, got {describe(run.error)}"
    message = str(run.error)
    assert re.search(case["match"], message, re.S), f"message does not match {case['match']!r}: {message[:1000]}"
    assert len(message) <= MAX_MESSAGE_CHARS, f"message is {len(message):,} characters: {message[:300]}..."
    if case.get("must_not_contain"):
        assert case["must_not_contain"] not in message, "the message quotes personal data"


def check_quarantine(case: dict, run: Run, folder: Path) -> None:
    assert run.error is None, f"the reader refused well-formed values: {describe(run.error)}"
    table, suite = case["table"], SUITES[case["table"]]
    warehouse = Warehouse(build_path=str(folder / "build.duckdb"), published_path=str(folder / "published.duckdb"))
    with warehouse.connect() as con:
        written = raw_tables(case, run.result)
        for name, (frame, snapshots) in written.items():
            if PARTITION_COLUMN in frame.columns:
                write_partition_rows(con, name, frame, [DEMO_GEMEENTE], snapshots, "corpus")
            else:
                write_raw_table(con, name, frame, snapshots, "corpus")
        rows_before = written[table][0].height
        outcome = run_gate(con, suite, run_id="corpus")
        assert outcome.errors_passed, outcome.message()
        held = quarantine_table_name(table)
        reasons = dict(con.execute(f"select reason, count(*) from (select unnest(quarantine_reasons) as reason "
                                   f"from {held}) group by reason").fetchall())
        assert reasons == case["reasons"]
        moved = con.execute(f"select count(*) from {held}").fetchone()[0]
        assert outcome.quarantine.rows_quarantined == moved
        assert con.execute(f"select count(*) from {table}").fetchone()[0] == rows_before - moved
        # Downstream: the staging model over the table sees the clean rows, none of the held ones.
        sql = (sql_models_dir() / STAGING_MODELS[table]).read_text(encoding="utf-8")
        con.execute(f"create or replace table staging.corpus_check as {sql}")
        keys = ", ".join(suite.key_columns)
        assert con.execute("select count(*) from staging.corpus_check").fetchone()[0] == rows_before - moved
        leaked = con.execute(f"select {keys} from staging.corpus_check intersect select {keys} from {held}").fetchall()
        assert leaked == [], f"quarantined rows reached staging: {leaked}"


def check_accepted(case: dict, run: Run) -> None:
    assert run.error is None, describe(run.error)
    frame = result_frame(run.result)
    assert frame.height == case["rows"]
    for column, value in (case.get("contains") or {}).items():
        assert value in frame[column].to_list(), f"{column}: {value!r} not in {frame[column].to_list()}"


def with_issue(case: dict, issue_key: str):
    marks = [pytest.mark.xfail(strict=True, reason=case[issue_key])] if case.get(issue_key) else []
    return pytest.param(case, id=case["id"], marks=marks)


@pytest.mark.parametrize("case", [with_issue(c, "known_issue") for c in CASES])
def test_bad_input_ends_in_a_clear_error_or_in_quarantine(case, run_case, tmp_path):
    run = run_case(case)
    if case["expected"] == "error":
        check_error(case, run)
    elif case["expected"] == "quarantine":
        check_quarantine(case, run, tmp_path)
    elif case["expected"] == "accepted":
        check_accepted(case, run)
    else:
        raise AssertionError(f"unknown expected outcome {case['expected']!r}")


@pytest.mark.parametrize("case", [with_issue(c, "snapshot_issue") for c in CASES if c.get("snapshot") == "kept"])
def test_the_bad_payload_is_kept_in_the_snapshot_store(case, run_case):
    run = run_case(case)
    digest = hashlib.sha256(run.payload).hexdigest()
    kept = [r for r in run.store.records() if r.sha256 == digest]
    assert kept, f"no snapshot of the payload ({len(run.payload):,} bytes) among {len(run.store.records())} records"
    assert Path(kept[0].path).read_bytes() == run.payload


def test_the_manifest_is_complete_and_every_committed_file_is_used():
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    listed = {c["file"] for c in CASES if "file" in c}
    listed |= {c["make"]["base"] for c in CASES if "base" in c.get("make", {})}
    helpers = {"bag_extract/verblijfsobjecten_ok.csv", "bag_extract/panden_ok.csv"}  # the good partner files
    committed = {str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*") if p.is_file() and p.name != "manifest.yml"}
    assert committed == listed | helpers
    assert all((CORPUS / f).stat().st_size <= 8_192 for f in committed), "corpus files stay tiny"
    for case in CASES:
        assert case["reader"] in READERS and case["expected"] in ("error", "quarantine", "accepted"), case["id"]
        assert ("file" in case) != ("make" in case), case["id"]
        if case["expected"] == "error":
            assert case.get("match"), case["id"]
        if case["expected"] == "quarantine":
            assert case["table"] in SUITES and case["table"] in STAGING_MODELS and case["reasons"], case["id"]
    # every source module and every brief category has cases
    modules = {c["reader"].split(".")[0] for c in CASES}
    assert modules == {"cbs_kwb", "cbs_energie", "pdok_wijkenbuurten", "bag", "ep_online", "kleinverbruik",
                       "corporation_portfolio", "municipal_files", "participation"}


# --- end to end: a corrupted demo input stops its branch; the published warehouse stays as it was ---------------


def corrupt_field(path: Path, delimiter: str, field: str, record: int, value: str, encoding: str = "utf-8") -> str:
    """Set ``field`` of data record ``record`` (1 = first line after the header) to ``value``; returns the old one."""
    lines = path.read_text(encoding=encoding).split("\n")
    header = lines[0].lstrip("\ufeff").split(delimiter)
    cells = lines[record].split(delimiter)
    old, cells[header.index(field)] = cells[header.index(field)], value
    lines[record] = delimiter.join(cells)
    path.write_text("\n".join(lines), encoding=encoding)
    return old


def test_a_corrupted_demo_input_stops_its_branch_and_keeps_the_published_warehouse(demo_area, tmp_path):
    labels = tmp_path / "inputs" / Path(demo_area.settings["label_bulk_file"]).name
    initiatives = tmp_path / "inputs" / Path(demo_area.settings["initiatives_file"]).name
    labels.parent.mkdir()
    shutil.copyfile(demo_area.settings["label_bulk_file"], labels)
    shutil.copyfile(demo_area.settings["initiatives_file"], initiatives)
    assert corrupt_field(labels, ";", "Registratiedatum", 1, "31-02-2025 25:61")
    assert corrupt_field(initiatives, ",", "start_year", 2, "twintig24")
    settings = {**demo_area.settings, "label_bulk_file": str(labels), "initiatives_file": str(initiatives)}

    paths = ProjectPaths(root=tmp_path / "state", published_warehouse=tmp_path / "published" / "wup.duckdb")
    paths.published_warehouse.parent.mkdir()
    with duckdb.connect(str(paths.published_warehouse)) as con:  # what analysts read before this run
        con.execute("create table published_before as select 'the previous good run' as note")
    before = paths.published_warehouse.read_bytes()

    defs = build_definitions(paths, mirror_dir=str(demo_area.root / "mirror"), settings=settings)
    with dg.DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("wup_all").execute_in_process(instance=instance, raise_on_error=False)

    assert not result.success
    errors = {e.step_key: e.event_specific_data.error for e in result.all_events if e.is_step_failure}
    assert set(errors) == {"raw__energy_labels", "raw__initiatives"}, {k: e.message for k, e in errors.items()}
    # The step fails with the reader's message (a dg.Failure), not with a bare exception and its stack.
    assert {e.cls_name for e in errors.values()} == {"Failure"}
    failures = {step: error.message for step, error in errors.items()}
    assert f"{labels} record 1 field 'Registratiedatum': not a date: '31-02-2025 25:61'" in failures[
        "raw__energy_labels"]
    assert f"{initiatives} row 3 field 'start_year': 'twintig24' is not valid" in failures["raw__initiatives"]
    assert not [e for e in result.all_events if e.event_type_value == "STEP_RESTARTED"]  # bad input is not retried

    done = {"/".join(e.asset_key.path) for e in result.get_asset_materialization_events()}
    assert {"raw/cbs_kwb", "raw/pdok_buurten", "raw/bag_verblijfsobjecten", "raw/kleinverbruik",
            "raw/infra_buurt", "intermediate/int_verblijfsobjecten", "intermediate/int_panden_classified",
            "marts/factscan_buurt"} <= done
    stopped = {"raw/energy_labels", "intermediate/int_dwellings", "marts/housing_stock_buurt",
               "marts/energy_use_buurt", "marts/socio_economic_buurt", "raw/initiatives", "marts/initiatives_buurt",
               "outputs/published_warehouse"}
    assert not stopped & done, stopped & done

    # The suites of the branches that ran (the new ones among them) passed on the demo.
    evaluated = {(".".join(e.asset_key.path), e.check_name): e.passed for e in result.get_asset_check_evaluations()}
    assert all(evaluated.values()), [k for k, ok in evaluated.items() if not ok]
    for table in ("raw.kleinverbruik", "raw.cbs_energie_buurt", "raw.cbs_heating_buurt", "raw.infra_segments",
                  "raw.infra_buurt", "intermediate.int_verblijfsobjecten", "intermediate.int_panden_classified"):
        assert evaluated[(table, "data_quality_errors")], table

    # Never a lost raw snapshot: both broken files were stored before they were read.
    stored = {r.sha256 for r in SnapshotStore(paths.snapshots).records()}
    for broken in (labels, initiatives):
        assert hashlib.sha256(broken.read_bytes()).hexdigest() in stored, broken
    # Never a half-published warehouse.
    assert paths.published_warehouse.read_bytes() == before


def test_corrupt_field_changes_exactly_one_cell(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a;b\n1;2\n3;4\n", encoding="utf-8")
    assert corrupt_field(path, ";", "b", 2, "x") == "4"
    assert path.read_text(encoding="utf-8") == "a;b\n1;2\n3;x\n"
