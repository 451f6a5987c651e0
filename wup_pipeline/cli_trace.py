"""`wup trace <figure-id>`: the whole chain behind one published figure, read from the published warehouse.

Registered in cli.py with ``add_trace_parser(commands)``. Read-only, like `wup query`: the published warehouse is
opened read-only and nothing is written.
"""

from __future__ import annotations

import argparse
import json


def add_trace_parser(commands) -> argparse.ArgumentParser:
    trace = commands.add_parser(
        "trace", help="trace a figure to its SQL, source columns, snapshots, parameters and checks",
        description="Print the chain behind a figure id from audit.figures (e.g. factscan/BU99990101/avg_gas_m3): "
        "value, mart column, the SQL through intermediate and staging models down to raw columns, source snapshots, "
        "parameter rows, check results, run id and code version.")
    trace.add_argument("figure_id", nargs="?", help="a figure id; see `wup trace --list BU...`")
    trace.add_argument("--list", metavar="PREFIX", help="list the figure ids that start with PREFIX (a buurt code "
                       "or a section such as factscan/BU99990101) instead of tracing one")
    trace.add_argument("--json", action="store_true", help="print the trace as JSON")
    trace.set_defaults(func=cmd_trace)
    return trace


def cmd_trace(args: argparse.Namespace) -> None:
    import duckdb

    from wup_pipeline.cli import CliError
    from wup_pipeline.lineage.trace import FigureError, format_trace, trace
    from wup_pipeline.resources.settings import project_paths
    from wup_pipeline.resources.warehouse import open_duckdb

    paths = project_paths()
    if not paths.published_warehouse.exists():
        raise CliError(f"no published warehouse at {paths.published_warehouse}: run `wup demo` or `wup run` first "
                       "(or set WUP_WAREHOUSE)")
    if not args.figure_id and not args.list:
        raise CliError("give a figure id (e.g. factscan/BU99990101/dwellings) or --list PREFIX")
    try:
        with open_duckdb(paths.published_warehouse, read_only=True) as con:
            if args.list:
                list_figures(con, args.list)
                return
            result = trace(con, args.figure_id)
    except FigureError as exc:
        raise CliError(str(exc)) from None
    except duckdb.Error as exc:
        raise CliError(f"could not read {paths.published_warehouse}: {exc}") from None
    if args.json:
        from dataclasses import asdict

        print(json.dumps(asdict(result), indent=1, default=str, ensure_ascii=False))
    else:
        print(format_trace(result))


def list_figures(con, prefix: str) -> None:
    from wup_pipeline.lineage.trace import FigureError

    pattern = prefix if "/" in prefix else None
    if pattern:
        rows = con.execute("select figure_id, value_text, unit from audit.figures where starts_with(figure_id, ?) "
                           "order by figure_id", [pattern]).fetchall()
    else:
        rows = con.execute("select figure_id, value_text, unit from audit.figures where buurt_code = ? "
                           "order by figure_id", [prefix]).fetchall()
    if not rows:
        raise FigureError(f"no figure ids for '{prefix}' (give a buurt code, or a prefix such as factscan/BU99990101)")
    for figure, value, unit in rows:
        print(f"{figure:<70} {value if value is not None else '–'} {unit or ''}".rstrip())
