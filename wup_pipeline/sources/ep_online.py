"""EP-Online (RVO): registered energy labels, per address from the API v5 or all at once from the bulk file.

API v5 (facts in ``../shared/reference/api_samples/README.md``): ``GET {base}/PandEnergielabel/
AdresseerbaarObject/{vbo_id}`` or ``{base}/PandEnergielabel/Adres?postcode=..&huisnummer=..[&huisletter=..]
[&huisnummertoevoeging=..]`` with the header ``Authorization: <key>`` (no "Bearer"). The answer is a JSON
array of registrations; 404 means no label. The key is a secret: it is sent in that header only and is
scrubbed from every message this module raises or logs; URLs, snapshots and provenance never hold it.

One request per address is slow (``max_per_second``, default ``DEFAULT_MAX_PER_SECOND``: a municipality of
20,000 addresses takes over an hour), so above a few thousand addresses the bulk file is the route:
``read_label_bulk`` reads the zipped ``;``-separated CSV (about 5 million rows) with DuckDB, maps columns by
name (old ``Pand_*`` names and the API-style names), and guards against zip bombs.

Both routes pick one registration per address: the newest (``Registratiedatum``) among those still valid on
the reference date (``Geldig_tot`` on or after it; a missing ``Geldig_tot`` counts as valid). ``label_choice``
says how: ``only_valid`` (one registration), ``newest_valid`` (the newest valid of several),
``newest_expired`` (none valid: the newest is given, flagged), ``none_registered`` (API: asked, no label).
"""

from __future__ import annotations

import codecs
import logging
import re
import shutil
import tempfile
import time
import uuid
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import requests

from wup_pipeline.resources.errors import InputError
from wup_pipeline.resources.http import HttpClient, SourceUnavailableError
from wup_pipeline.resources.paging import PayloadError, parse_json
from wup_pipeline.resources.snapshots import SnapshotRecord, SnapshotStore

log = logging.getLogger(__name__)

SOURCE_ID = "ep_online"
LICENCE = "EP-Online open data (RVO; terms on ep-online.nl, not verified here)"
DEFAULT_BASE_URL = "https://public.ep-online.nl/api/v5"
DEFAULT_MAX_PER_SECOND = 4.0  # RVO publishes no rate; stay polite, and 429/Retry-After is honoured anyway
BULK_ROUTE_ABOVE = 2_000  # addresses; above this the bulk file is the better route (logged)
DEFAULT_MAX_UNCOMPRESSED_BYTES = 8 * 1024**3  # the full CSV is a few GB; more than this is not a label file
SNIFF_BYTES = 4 * 1024**2
LABEL_CLASSES = ("A++++", "A+++", "A++", "A+", "A", "B", "C", "D", "E", "F", "G")
BAG_ID = re.compile(r"^\d{16}$")
HTTP_STATUS = re.compile(r"failed with HTTP (\d{3})")
DATE_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%Y%m%d",
                "%d-%m-%Y %H:%M:%S", "%d-%m-%Y", "%d/%m/%Y")

LABEL_SCHEMA = {
    "vbo_id": pl.String, "postcode": pl.String, "huisnummer": pl.Int64, "huisletter": pl.String,
    "toevoeging": pl.String, "energy_label": pl.String, "registration_date": pl.Date, "recording_date": pl.Date,
    "valid_until": pl.Date, "building_class": pl.String, "building_type": pl.String,
    "building_subtype": pl.String, "n_registrations": pl.Int64, "label_choice": pl.String, "source": pl.String,
}
RAW_COLUMNS = ("vbo_id", "postcode", "huisnummer", "huisletter", "toevoeging", "energy_label", "registration_date",
               "recording_date", "valid_until", "building_class", "building_type", "building_subtype")

# Bulk CSV columns by name (case-insensitive, first found wins): the old 'Pand_*' header
# (../shared/reference/api_samples/ep-online/bulk_csv_header_old_format_from_code_comment.txt), its 2023
# variant (Pand_huisletter, Pand_huisnummertoevoeging; 3DGI/wijklabels EPLoader), and the API v5 names.
BULK_COLUMNS = {
    "vbo_id": ("Pand_bagverblijfsobjectid", "BAGVerblijfsobjectID"),
    "postcode": ("Pand_postcode", "Postcode"),
    "huisnummer": ("Pand_huisnummer", "Huisnummer"),
    "huisletter": ("Pand_huisletter", "Huisletter"),
    "toevoeging": ("Pand_huisnummertoevoeging", "Pand_huisnummer_toev", "Huisnummertoevoeging"),
    "energy_label": ("Pand_energieklasse", "Energieklasse"),
    "registration_date": ("Pand_registratiedatum", "Registratiedatum"),
    "recording_date": ("Pand_opnamedatum", "Opnamedatum"),
    "valid_until": ("Meting_geldig_tot", "Geldig_tot", "Pand_geldig_tot"),
    "building_class": ("Pand_gebouwklasse", "Gebouwklasse"),
    "building_type": ("Pand_gebouwtype", "Gebouwtype"),
    "building_subtype": ("Pand_gebouwsubtype", "Gebouwsubtype"),
}
REQUIRED_BULK = ("vbo_id", "postcode", "huisnummer", "energy_label", "registration_date")
API_FIELDS = {
    "vbo_id": "BAGVerblijfsobjectID", "postcode": "Postcode", "huisnummer": "Huisnummer", "huisletter": "Huisletter",
    "toevoeging": "Huisnummertoevoeging", "energy_label": "Energieklasse", "registration_date": "Registratiedatum",
    "recording_date": "Opnamedatum", "valid_until": "Geldig_tot", "building_class": "Gebouwklasse",
    "building_type": "Gebouwtype", "building_subtype": "Gebouwsubtype",
}


@dataclass
class LabelExtract:
    """One row per address (LABEL_SCHEMA), the snapshots it came from, and the reference date used."""

    labels: pl.DataFrame
    snapshots: list[SnapshotRecord]
    reference_date: date
    source_version: str | None = None


class RateLimiter:
    """At most ``max_per_second`` request starts per second (evenly spaced)."""

    def __init__(self, max_per_second: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        if not max_per_second > 0:
            raise ValueError(f"max_per_second must be positive, got {max_per_second}")
        self.interval = 1.0 / max_per_second
        self._clock, self._sleep = clock, sleep
        self._next: float | None = None

    def wait(self) -> None:
        now = self._clock()
        if self._next is not None and now < self._next:
            self._sleep(self._next - now)
            now = self._next
        self._next = now + self.interval


# --- API v5 ---------------------------------------------------------------------------------------------


def fetch_labels_api(
    client: HttpClient,
    store: SnapshotStore,
    vbo_ids: Iterable[str],
    api_key: str,
    reference_date: date,
    max_per_second: float = DEFAULT_MAX_PER_SECOND,
    base_url: str = DEFAULT_BASE_URL,
    *,
    limiter: RateLimiter | None = None,
) -> LabelExtract:
    """The label of each verblijfsobject (one request each), one row per requested id."""
    ids = list(dict.fromkeys(str(v) for v in vbo_ids))
    bad = [v for v in ids if not BAG_ID.match(v)]
    if bad:
        raise InputError("vbo_ids", f"a verblijfsobject id has 16 digits; {len(bad)} do not, e.g. {bad[:5]}",
                         record=bad[0])
    requests = [(vbo_id, f"{base_url.rstrip('/')}/PandEnergielabel/AdresseerbaarObject/{vbo_id}", None)
                for vbo_id in ids]
    raw, snapshots = _fetch_all(client, store, requests, api_key, max_per_second, limiter,
                                "PandEnergielabel/AdresseerbaarObject")
    # an answer can hold registrations of other objects (the API answers id 0000000000000000 with many)
    foreign = raw.filter(pl.col("vbo_id").is_not_null() & (pl.col("vbo_id") != pl.col("request_key")))
    if foreign.height:
        log.warning("EP-Online: dropped %d registrations of other verblijfsobjecten than the one asked for",
                    foreign.height)
    raw = raw.filter(pl.col("vbo_id").is_null() | (pl.col("vbo_id") == pl.col("request_key")))
    raw = raw.with_columns(pl.col("request_key").alias("vbo_id"))
    labels = _typed_and_chosen(raw, reference_date, "ep_online_api", _api_error)
    asked = pl.DataFrame({"vbo_id": ids}, schema={"vbo_id": pl.String})
    labels = _with_unanswered(asked.join(labels, on="vbo_id", how="left"))
    return LabelExtract(labels.select(list(LABEL_SCHEMA)), snapshots, reference_date)


def fetch_labels_by_address(
    client: HttpClient,
    store: SnapshotStore,
    addresses: pl.DataFrame,
    api_key: str,
    reference_date: date,
    max_per_second: float = DEFAULT_MAX_PER_SECOND,
    base_url: str = DEFAULT_BASE_URL,
    *,
    limiter: RateLimiter | None = None,
) -> LabelExtract:
    """The label of each address (columns postcode, huisnummer, optional huisletter, toevoeging)."""
    missing = {"postcode", "huisnummer"} - set(addresses.columns)
    if missing:
        raise InputError("addresses", f"columns {sorted(missing)} missing; columns found: {addresses.columns}")
    frame = addresses.select(
        pl.col("postcode").cast(pl.String).str.replace_all(" ", "").str.to_uppercase(),
        pl.col("huisnummer").cast(pl.Int64),
        *[(pl.col(c) if c in addresses.columns else pl.lit(None)).cast(pl.String).alias(c)
          for c in ("huisletter", "toevoeging")],
    ).unique(maintain_order=True).with_columns(_address_key().alias("request_key"))
    url = f"{base_url.rstrip('/')}/PandEnergielabel/Adres"
    requests = []
    for key, postcode, number, letter, suffix in frame.select(
            "request_key", "postcode", "huisnummer", "huisletter", "toevoeging").iter_rows():
        params = {"postcode": postcode, "huisnummer": number}
        if letter:
            params["huisletter"] = letter
        if suffix:
            params["huisnummertoevoeging"] = suffix
        requests.append((key, url, params))
    raw, snapshots = _fetch_all(client, store, requests, api_key, max_per_second, limiter, "PandEnergielabel/Adres")
    chosen = _typed_and_chosen(raw, reference_date, "ep_online_api", _api_error, key=pl.col("request_key"))
    labels = frame.join(chosen.drop("postcode", "huisnummer", "huisletter", "toevoeging"), on="request_key",
                        how="left")
    return LabelExtract(_with_unanswered(labels).select(list(LABEL_SCHEMA)), snapshots, reference_date)


def _fetch_all(client, store, requests, api_key, max_per_second, limiter, dataset):
    _check_key(api_key)
    if len(requests) > BULK_ROUTE_ABOVE:
        log.info("EP-Online API: %d addresses at %.1f per second take about %d minutes; for more than a few "
                 "thousand addresses the bulk file (read_label_bulk) is the route", len(requests), max_per_second,
                 len(requests) / max_per_second / 60)
    limiter = limiter or RateLimiter(max_per_second)
    retrieval_id = uuid.uuid4().hex
    rows, snapshots = [], []
    for number, (key, url, params) in enumerate(requests):
        if not client.mirror_dir:  # a mirror is local files: nothing to be polite to
            limiter.wait()
        result = _get(client, url, params, api_key)
        if result is None:  # 404: no label registered
            continue
        answer = parse_json(result)
        where = result.headers.get("X-Mirror-File") or result.url
        if not isinstance(answer, list) or not all(isinstance(r, dict) for r in answer):
            raise PayloadError(f"{where}: expected a JSON array of label registrations, got {str(answer)[:80]}")
        snapshots.append(store.put(
            result.content, source_id=SOURCE_ID, dataset=dataset, url=result.url, rows=len(answer),
            licence=LICENCE, from_mirror=result.from_mirror, page=number, retrieval_id=retrieval_id,
        ))
        for index, registration in enumerate(answer):
            rows.append({"request_key": key, "record": f"{where} registration {index}",
                         **{name: _text(registration.get(field)) for name, field in API_FIELDS.items()}})
    schema = {"request_key": pl.String, "record": pl.String, **dict.fromkeys(RAW_COLUMNS, pl.String)}
    return pl.DataFrame(rows, schema=schema), snapshots


def _get(client: HttpClient, url: str, params: dict | None, api_key: str):
    try:
        return client.get(url, params=params, headers={"Authorization": api_key})
    except SourceUnavailableError as exc:
        message = scrub(str(exc), api_key)
        status = HTTP_STATUS.search(message)
        if status and status.group(1) == "404":
            return None
        if status and status.group(1) in ("401", "403"):
            raise SourceUnavailableError(
                f"EP-Online refused GET {url} with HTTP {status.group(1)}: the API key (not shown) is missing, "
                "wrong or expired"
            ) from None
        raise SourceUnavailableError(message) from None
    except requests.RequestException as exc:  # e.g. requests' header check, which quotes the header value
        raise SourceUnavailableError(f"GET {url} failed: {scrub(str(exc), api_key)}") from None


def _check_key(api_key: str) -> None:
    if not isinstance(api_key, str) or not api_key.strip():
        raise ValueError("no EP-Online API key given (pass it from a secret, e.g. dg.EnvVar('EP_ONLINE_API_KEY'))")
    if api_key != api_key.strip() or not api_key.isprintable() or not api_key.isascii():
        raise ValueError("the EP-Online API key has surrounding blanks, a line break or other characters an HTTP "
                         "header cannot carry (value not shown)")


def scrub(text: str, secret: str | None) -> str:
    """The text with every occurrence of the secret replaced."""
    return text.replace(secret, "***") if secret else text


def _text(value) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _api_error(record: str, field: str, problem: str) -> Exception:
    return PayloadError(f"{record} field '{API_FIELDS.get(field, field)}': {problem}")


def _with_unanswered(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        pl.col("label_choice").fill_null("none_registered"),
        pl.col("n_registrations").fill_null(0),
        pl.col("source").fill_null("ep_online_api"),
    )


# --- registrations -> one label per address -------------------------------------------------------------


def normalise_label(column: pl.Expr) -> pl.Expr:
    """'a+++ ' -> 'A+++'; anything that is not one of LABEL_CLASSES -> null."""
    cleaned = column.str.strip_chars().str.to_uppercase().str.replace_all(" ", "")
    return pl.when(cleaned.is_in(list(LABEL_CLASSES))).then(cleaned)


def _parse_date(column: str) -> pl.Expr:
    text = pl.col(column).str.strip_chars()
    return pl.coalesce([text.str.to_datetime(fmt, strict=False) for fmt in DATE_FORMATS])


def _address_key() -> pl.Expr:
    parts = [pl.col(c).cast(pl.String).fill_null("") for c in ("postcode", "huisnummer", "huisletter", "toevoeging")]
    return pl.concat_str(parts, separator="|")


def _typed_and_chosen(raw: pl.DataFrame, reference_date: date, source: str, error, key: pl.Expr | None = None
                      ) -> pl.DataFrame:
    """Type the raw text columns (errors name record and field), then pick one registration per key."""
    typed = raw.with_columns(
        _parse_date("registration_date").alias("registration_ts"),
        _parse_date("recording_date").alias("recording_ts"),
        _parse_date("valid_until").alias("valid_until_ts"),
        pl.col("huisnummer").str.strip_chars().cast(pl.Int64, strict=False).alias("huisnummer_int"),
        normalise_label(pl.col("energy_label")).alias("label"),
        pl.col("postcode").str.replace_all(" ", "").str.to_uppercase().alias("postcode"),
    )
    checks = (("registration_date", "registration_ts", "not a date"), ("recording_date", "recording_ts", "not a date"),
              ("valid_until", "valid_until_ts", "not a date"), ("huisnummer", "huisnummer_int", "not a whole number"))
    for column, parsed, problem in checks:
        bad = typed.filter(pl.col(column).is_not_null() & pl.col(parsed).is_null())
        if bad.height:
            raise error(bad["record"][0], column, f"{problem}: {bad[column][0]!r} ({bad.height} such value(s))")
    missing_date = typed.filter(pl.col("registration_ts").is_null())
    if missing_date.height:
        raise error(missing_date["record"][0], "registration_date",
                    f"missing ({missing_date.height} registration(s) without a registration date)")
    odd = typed.filter(pl.col("energy_label").is_not_null() & pl.col("label").is_null())
    if odd.height:
        log.warning("EP-Online (%s): %d registrations with an unknown energy class, kept without a label: %s",
                    source, odd.height, odd["energy_label"].unique().head(5).to_list())

    if key is None:  # by verblijfsobject; registrations without one (ligplaats, standplaats) by address
        key = pl.coalesce(pl.col("vbo_id"), pl.concat_str(pl.lit("address:"), _address_key()))
    valid = pl.col("valid_until_ts").is_null() | (pl.col("valid_until_ts").dt.date() >= reference_date)
    ranked = (
        typed.with_columns(key.alias("_key"), valid.alias("_valid"))
        .with_columns(pl.len().over("_key").alias("n_registrations"),
                      pl.col("_valid").sum().over("_key").alias("_n_valid"))
        .sort(["_key", "_valid", "registration_ts", "recording_ts"], descending=[False, True, True, True],
              nulls_last=True)
        .unique(subset="_key", keep="first", maintain_order=True)
    )
    choice = (pl.when(pl.col("_valid") & (pl.col("n_registrations") == 1)).then(pl.lit("only_valid"))
              .when(pl.col("_valid")).then(pl.lit("newest_valid"))
              .otherwise(pl.lit("newest_expired")))
    keep = [c for c in ("request_key",) if c in raw.columns]
    return ranked.select(
        *keep, "vbo_id", "postcode", pl.col("huisnummer_int").alias("huisnummer"), "huisletter", "toevoeging",
        pl.col("label").alias("energy_label"), pl.col("registration_ts").dt.date().alias("registration_date"),
        pl.col("recording_ts").dt.date().alias("recording_date"),
        pl.col("valid_until_ts").dt.date().alias("valid_until"), "building_class", "building_type",
        "building_subtype", pl.col("n_registrations").cast(pl.Int64), choice.alias("label_choice"),
        pl.lit(source).alias("source"),
    )


# --- bulk file ------------------------------------------------------------------------------------------


def read_label_bulk(
    path: str | Path,
    reference_date: date | None = None,
    *,
    store: SnapshotStore | None = None,
    vbo_ids: Iterable[str] | None = None,
    encoding: str | None = None,
    max_uncompressed_bytes: int = DEFAULT_MAX_UNCOMPRESSED_BYTES,
) -> LabelExtract:
    """One label per address from the EP-Online bulk file (a zip with one CSV, or the CSV itself).

    ``reference_date`` (default: today) decides which registrations are valid; ``vbo_ids`` keeps only those
    verblijfsobjecten (a municipality out of the national file); ``encoding`` is detected when not given
    (UTF-8, with or without byte-order mark, else Windows-1252). With a ``store`` the file is snapshotted.
    """
    path = Path(path)
    reference_date = reference_date or date.today()
    if not path.is_file():
        raise InputError(path, "file not found")
    snapshots = []
    if store is not None:
        snapshots.append(store.put_file(path, source_id=SOURCE_ID, dataset="bulk", licence=LICENCE))
    with tempfile.TemporaryDirectory(prefix="ep_online_") as scratch:
        csv_path = _unpacked_csv(path, Path(scratch), max_uncompressed_bytes)
        csv_path = _as_utf8(path, csv_path, Path(scratch), encoding)
        preamble, header_line = _preamble(path, csv_path)
        raw, names = _read_csv(path, csv_path, len(preamble), header_line, vbo_ids)
    source_version = "; ".join(f"{k} {v}" for k, v in preamble.items()) or None

    def error(record, field, problem):
        return InputError(path, problem, record=record, field=names.get(field, field))

    labels = _typed_and_chosen(raw, reference_date, "ep_online_bulk", error)
    return LabelExtract(labels.select(list(LABEL_SCHEMA)), snapshots, reference_date, source_version)


def _unpacked_csv(path: Path, scratch: Path, limit: int) -> Path:
    """The CSV itself, or the one CSV inside a zip, extracted after checking its size against ``limit``."""
    with path.open("rb") as handle:
        looks_zipped = handle.read(4) == b"PK\x03\x04"
    if not looks_zipped:
        return path
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            csvs = [m for m in members if m.filename.lower().endswith((".csv", ".txt"))]
            if len(csvs) != 1:
                raise InputError(path, f"expected one CSV in the zip, found {len(csvs)}: "
                                       f"{[m.filename for m in members][:20]}")
            member = csvs[0]
            if member.file_size > limit:
                raise InputError(
                    path, f"zip member '{member.filename}' would unpack to {member.file_size:,} bytes, over the "
                    f"limit of {limit:,} (max_uncompressed_bytes); not extracted (zip bomb guard)")
            target = scratch / Path(member.filename).name
            written = 0
            with archive.open(member) as source, target.open("wb") as sink:
                while chunk := source.read(1 << 20):
                    written += len(chunk)
                    if written > limit:  # the header lied about the size
                        raise InputError(path, f"zip member '{member.filename}' unpacks to more than {limit:,} "
                                               "bytes (max_uncompressed_bytes); stopped (zip bomb guard)")
                    sink.write(chunk)
            return target
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise InputError(path, f"damaged zip file: {exc}") from exc


def _as_utf8(path: Path, csv_path: Path, scratch: Path, encoding: str | None) -> Path:
    """UTF-8 files are read in place; Windows-1252 (or a given encoding) is transcoded first, streamed."""
    if encoding is None:
        with csv_path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
        try:
            codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
            encoding = "utf-8"
        except UnicodeDecodeError:
            encoding = "cp1252"
            log.info("%s is not UTF-8; reading it as Windows-1252", path)
    if codecs.lookup(encoding).name in ("utf-8", "utf-8-sig"):
        return csv_path
    target = scratch / "utf8.csv"
    try:
        with csv_path.open("r", encoding=encoding, newline="") as source, \
                target.open("w", encoding="utf-8", newline="") as sink:
            shutil.copyfileobj(source, sink, 1 << 20)
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not readable as {encoding}: {exc}") from exc
    return target


def _preamble(path: Path, csv_path: Path) -> tuple[dict[str, str], str]:
    """Lines before the header ('PublicatieDatum;01-09-2026' in newer files) and the header line."""
    known = {n.lower() for names in BULK_COLUMNS.values() for n in names}
    preamble = {}
    with csv_path.open("r", encoding="utf-8-sig", errors="replace", newline="") as handle:
        for _ in range(20):
            line = handle.readline()
            if not line:
                break
            fields = [f.strip().strip('"') for f in line.rstrip("\r\n").split(";")]
            if any(f.lower() in known for f in fields):
                return preamble, line
            preamble[fields[0]] = ";".join(fields[1:])
    raise InputError(path, f"no header line with EP-Online column names (e.g. Pand_energieklasse or Energieklasse) "
                           f"in the first 20 lines; first lines: {list(preamble)[:3]}")


def _read_csv(path: Path, csv_path: Path, skip: int, header_line: str, vbo_ids) -> tuple[pl.DataFrame, dict]:
    found = [f.strip().strip('"').lstrip("\ufeff") for f in header_line.rstrip("\r\n").split(";")]
    by_lower = {f.lower(): f for f in found}
    names = {}
    for name, candidates in BULK_COLUMNS.items():
        column = next((by_lower[c.lower()] for c in candidates if c.lower() in by_lower), None)
        if column is None and name in REQUIRED_BULK:
            raise InputError(path, f"required column missing (looked for {', '.join(candidates)}); columns found: "
                                   f"{found}", field=name)
        if column is not None:
            names[name] = column
    con = duckdb.connect()
    try:
        literal = "'" + str(csv_path).replace("'", "''") + "'"
        con.execute(f"create view src as select * from read_csv({literal}, delim=';', header=true, skip={skip}, "
                    "all_varchar=true, quote='\"', null_padding=true)")
        selects = ["row_number() over () as record"]  # data row number: 1 is the row after the header
        for name in RAW_COLUMNS:
            column = names.get(name)
            quoted = '"' + column.replace('"', '""') + '"' if column else None
            expression = f"nullif(trim({quoted}), '')" if quoted else "null::varchar"
            selects.append(f"{expression} as {name}")
        query = f"select {', '.join(selects)} from src"
        if vbo_ids is not None:
            wanted = pl.DataFrame({"vbo_id": list(dict.fromkeys(str(v) for v in vbo_ids))},
                                  schema={"vbo_id": pl.String}).to_arrow()
            con.register("wanted", wanted)
            query = f"select * from ({query}) where vbo_id in (select vbo_id from wanted)"
        frame = con.execute(query).pl()
    except duckdb.Error as exc:
        raise InputError(path, f"cannot read as a ';'-separated EP-Online CSV: {exc}") from exc
    finally:
        con.close()
    return frame.with_columns(pl.col(c).cast(pl.String) for c in RAW_COLUMNS), names
