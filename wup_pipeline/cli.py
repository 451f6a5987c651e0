"""`wup` command line: demo, run, query, dev."""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import time
from pathlib import Path

from wup_pipeline.cli_ops import register as register_ops_commands
from wup_pipeline.cli_trace import add_trace_parser
from wup_pipeline.resources.settings import REPO_DIR, ProjectPaths, project_paths


class CliError(Exception):
    """An error the user can act on; printed without a stack trace."""


def prepare_dagster_home(paths: ProjectPaths) -> None:
    """A project-local Dagster instance (SQLite) with telemetry off."""
    home = Path(os.environ.get("DAGSTER_HOME") or paths.dagster_home)
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")


def run_pipeline(
    paths: ProjectPaths, gemeente_code: str, year: int, mirror_dir: str | None, settings: dict | None = None
) -> None:
    import dagster as dg

    from wup_pipeline.definitions import build_definitions
    from wup_pipeline.orchestration.partitions import PARTITION_YEAR, gemeente_codes

    if gemeente_code not in gemeente_codes():
        raise CliError(f"{gemeente_code} is not a gemeente of the {PARTITION_YEAR} partitions (the CBS municipal "
                       "list, wup_pipeline/orchestration/gemeenten_2024.csv, plus the demo GM9999)")
    prepare_dagster_home(paths)
    defs = build_definitions(paths, mirror_dir=mirror_dir, gemeente_code=gemeente_code, year=year, settings=settings)
    job = defs.resolve_job_def("wup_all")
    run_config = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
    started = time.monotonic()
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(instance=instance, run_config=run_config, raise_on_error=False)
    report = write_data_quality_report(paths, result.run_id)
    if not result.success:
        failures = [
            f"  {event.step_key}: {event.event_specific_data.error.message.strip()}"
            for event in result.all_events
            if event.is_step_failure and event.event_specific_data and event.event_specific_data.error
        ]
        raise CliError(
            "the run failed; the published warehouse was left as it was.\n" + "\n".join(failures)
            + f"\nrun id {result.run_id}; see `wup dev` for the full log"
        )
    print(f"\nrun {result.run_id} finished in {time.monotonic() - started:.1f} s")
    print(f"data quality report {report}")


def write_data_quality_report(paths: ProjectPaths, run_id: str) -> Path | None:
    """Every expectation of the run and the quarantined rows, as Markdown and HTML next to the outputs."""
    from wup_pipeline.checks.report import write_quality_report
    from wup_pipeline.resources.warehouse import open_duckdb

    if not paths.build_warehouse.exists():
        return None
    with open_duckdb(paths.build_warehouse, read_only=True) as con:
        report_md, _ = write_quality_report(con, run_id, paths.outputs / "data_quality")
    return report_md


def summarise(paths: ProjectPaths, gemeente_code: str) -> None:
    from wup_pipeline.resources.warehouse import open_duckdb

    with open_duckdb(paths.published_warehouse, read_only=True) as con:
        tables = con.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_schema in ('raw','staging','intermediate','marts','audit','quarantine') order by 1"
        ).fetchall()
        print(f"warehouse  {paths.published_warehouse}")
        for (table,) in tables:
            count = con.execute(f"select count(*) from {table}").fetchone()[0]
            print(f"  {table:<40} {count:>8} rows")
    from wup_pipeline.assets.outputs import output_locations

    for label, location in output_locations(paths.outputs, gemeente_code).items():
        print(f"{label:<10} {location}")
    print(f"snapshots  {paths.snapshots}")


def cmd_demo(args: argparse.Namespace) -> None:
    from wup_pipeline.demo.area import write_demo_area
    from wup_pipeline.demo.generator import DEMO_GEMEENTE, DEMO_YEAR

    paths = project_paths()
    print(f"writing the synthetic demo municipality {DEMO_GEMEENTE} into {paths.demo_area}")
    area = write_demo_area(paths.demo_area, seed=args.seed)
    summary = area.summary
    print(f"  {summary.n_wijken} wijken, {summary.n_buurten} buurten, {summary.n_dwellings} dwellings, "
          f"{area.files} source payloads and files")
    run_pipeline(paths, DEMO_GEMEENTE, DEMO_YEAR, str(summary.mirror_dir), area.settings)
    summarise(paths, DEMO_GEMEENTE)


def load_area_config(path: str) -> dict:
    """An area configuration (YAML): PipelineSettings fields; relative paths are relative to the file."""
    import yaml

    config_path = Path(path).resolve()
    try:
        config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise CliError(f"cannot read area configuration {config_path}: {exc}") from exc
    if not isinstance(config, dict):
        raise CliError(f"{config_path}: expected a mapping of settings")

    def resolve(value):
        if isinstance(value, str) and (value.startswith("./") or value.startswith("../")):
            return str((config_path.parent / value).resolve())
        if isinstance(value, list):
            return [resolve(v) for v in value]
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        return value

    return {key: resolve(value) for key, value in config.items()}


def cmd_run(args: argparse.Namespace) -> None:
    paths = project_paths()
    config = load_area_config(args.config) if args.config else {}
    gemeente = args.gemeente or config.pop("gemeente_code", None)
    year = args.year or config.pop("year", None)
    config.pop("gemeente_code", None)
    config.pop("year", None)
    if not gemeente or not year:
        raise CliError("give --gemeente and --year, or a --config that sets gemeente_code and year")
    mirror = args.mirror or config.pop("mirror", None) or os.environ.get("WUP_SOURCE_MIRROR")
    print(f"running {gemeente} {year} from " + (f"mirror {mirror}" if mirror else "the live sources")
          + (f" with local files from {args.config}" if args.config else ""))
    run_pipeline(paths, gemeente, int(year), mirror, config)
    summarise(paths, gemeente)


READ_ONLY_STATEMENTS = ("Select", "Union", "Intersect", "Except", "Describe", "Show")


def check_read_only(sql: str) -> None:
    import sqlglot

    try:
        statements = [s for s in sqlglot.parse(sql, dialect="duckdb") if s is not None]
    except sqlglot.errors.ParseError as exc:
        raise CliError(f"could not parse the query: {exc}") from exc
    for statement in statements:
        if type(statement).__name__ not in READ_ONLY_STATEMENTS:
            raise CliError(
                f"`wup query` is read-only; refused a {type(statement).__name__.upper()} statement. "
                "Change data through the pipeline, not the published warehouse."
            )


def cmd_query(args: argparse.Namespace) -> None:
    import duckdb

    from wup_pipeline.resources.warehouse import open_duckdb

    paths = project_paths()
    if not paths.published_warehouse.exists():
        raise CliError(f"no published warehouse at {paths.published_warehouse}: run `wup demo` or `wup run` first "
                       "(or set WUP_WAREHOUSE)")
    check_read_only(args.sql)
    with open_duckdb(paths.published_warehouse, read_only=True) as con:
        try:
            cursor = con.execute(args.sql)
        except duckdb.Error as exc:
            raise CliError(f"query failed: {exc}") from exc
        names = [d[0] for d in cursor.description or []]
        rows = cursor.fetchall()
    if args.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(names)
        writer.writerows(rows)
    else:
        print_table(names, rows)


def print_table(names: list[str], rows: list[tuple]) -> None:
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [max([len(n)] + [len(r[i]) for r in cells]) for i, n in enumerate(names)]
    print("  ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
    print(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")


COST_COLUMNS = (
    ("strategy", "route", "{}"),
    ("national_extra_cost_eur_per_weq", "national extra EUR/weq/yr", "{:,.0f}"),
    ("national_extra_cost_eur_per_ton_co2", "EUR/ton CO2", "{:,.0f}"),
    ("co2_reduction_ton_per_year", "CO2 saved t/yr", "{:,.0f}"),
    ("end_user_extra_cost_owner_occupier_eur_per_dwelling_year", "owner-occupier EUR/yr", "{:,.0f}"),
    ("end_user_extra_cost_private_tenant_eur_per_dwelling_year", "private tenant EUR/yr", "{:,.0f}"),
    ("end_user_extra_cost_corporation_tenant_eur_per_dwelling_year", "corporation tenant EUR/yr", "{:,.0f}"),
)


def cmd_costs(args: argparse.Namespace) -> None:
    """The routes off natural gas for one buurt, cheapest national cost first."""
    import duckdb

    from wup_pipeline.resources.warehouse import open_duckdb

    paths = project_paths()
    if not paths.published_warehouse.exists():
        raise CliError(f"no published warehouse at {paths.published_warehouse}: run `wup demo` or `wup run` first")
    with open_duckdb(paths.published_warehouse, read_only=True) as con:
        try:
            frame = con.execute(
                "select * from marts.route_costs_buurt where buurt_code = ? order by national_cost_eur_per_year",
                [args.buurt]).pl()
            sensitivity = con.execute(
                "select * from marts.route_sensitivity_buurt where buurt_code = ? order by all", [args.buurt]).pl()
        except duckdb.Error as exc:
            raise CliError(f"the warehouse has no route costs yet: {exc}") from exc
    if frame.is_empty():
        raise CliError(f"no route costs for buurt {args.buurt!r}; `wup query \"select distinct buurt_code from "
                       "marts.route_costs_buurt\"` lists the buurten")
    first = frame.row(0, named=True)
    print(f"Routes off natural gas for {args.buurt}: {first['dwellings']:,.0f} dwellings, parameter set "
          f"{first['parameter_set']}, prices of {first['year']}")
    print(f"cheapest national route: {first['cheapest_route']} (margin over {first['runner_up_route']}: "
          f"EUR {first['margin_eur_per_weq']:,.0f} per woningequivalent per year)\n")
    columns = [c for c in COST_COLUMNS if c[0] in frame.columns]
    names = [label for _, label, _ in columns]
    rows = [tuple(("" if row[c] is None else fmt.format(row[c])) for c, _, fmt in columns)
            for row in frame.iter_rows(named=True)]
    print_table(names, rows)
    if not sensitivity.is_empty():
        print("\nsensitivity (cheapest route per scenario):")
        for row in sensitivity.iter_rows(named=True):
            verdict = "same" if row["same_as_central"] else f"CHANGES from {row['central_cheapest_route']}"
            print(f"  {row['scenario']:<20} {row['cheapest_route']:<6} {verdict}")
    print("\nExtra costs are against the reference (gas boiler, no change); method: docs/cost-model.md")


def cmd_dev(args: argparse.Namespace) -> None:
    paths = project_paths()
    prepare_dagster_home(paths)
    if not os.environ.get("WUP_GEMEENTE") and not os.environ.get("WUP_SOURCE_MIRROR"):
        # Without a gemeente of its own, the UI works on the demo: read it from its mirror, not the live APIs.
        os.environ["WUP_SOURCE_MIRROR"] = str(paths.demo_area / "mirror")
        print(f"demo gemeente; sources are read from {paths.demo_area} (run `wup demo` once to fill it)")
    command = [sys.executable, "-m", "dagster", "dev", "-w", str(REPO_DIR / "workspace.yaml"), "--port", str(args.port)]
    raise SystemExit(subprocess.call(command, cwd=REPO_DIR))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wup", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="generate the synthetic demo municipality and run the pipeline")
    demo.add_argument("--seed", type=int, default=2026)
    demo.set_defaults(func=cmd_demo)
    run = commands.add_parser("run", help="run the pipeline for a real gemeente and year")
    run.add_argument("--gemeente", help="CBS gemeente code, e.g. GM0014")
    run.add_argument("--year", type=int)
    run.add_argument("--config", help="area configuration (YAML) with local files; see docs/local-files.md")
    run.add_argument("--mirror", help="read sources from this local mirror (default: WUP_SOURCE_MIRROR)")
    run.set_defaults(func=cmd_run)
    query = commands.add_parser("query", help="read-only SQL on the published warehouse")
    query.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    query.add_argument("sql")
    query.set_defaults(func=cmd_query)
    costs = commands.add_parser("costs", help="compare the routes off natural gas for one buurt")
    costs.add_argument("--buurt", required=True, help="CBS buurt code, e.g. BU99990101")
    costs.set_defaults(func=cmd_costs)
    add_trace_parser(commands)
    register_ops_commands(commands)
    dev = commands.add_parser("dev", help="start the Dagster UI on this project")
    dev.add_argument("--port", type=int, default=3000)
    dev.set_defaults(func=cmd_dev)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except CliError as exc:
        print(f"wup: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
