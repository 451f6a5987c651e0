"""Operations commands of `wup`: published states (`states`, `rollback`) and the national benchmark
(`generate-national`, `bench`). ``register(subparsers)`` adds them to the `wup` parser."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DEFAULT_BENCH_DIR = "bench"  # under the project's state root (WUP_HOME, default ./var)


def _error(message: str) -> Exception:
    from wup_pipeline.cli import CliError  # imported late: cli imports this module to register the commands

    return CliError(message)


def _warehouse():
    from wup_pipeline.resources.settings import project_paths
    from wup_pipeline.resources.warehouse import Warehouse

    paths = project_paths()
    return Warehouse(build_path=str(paths.build_warehouse), published_path=str(paths.published_warehouse))


def cmd_states(args: argparse.Namespace) -> None:
    warehouse = _warehouse()
    states = warehouse.list_states()
    if args.json:
        print(json.dumps([s.as_dict() for s in states]))
        return
    if not states:
        print(f"no published states in {warehouse.states_path}: run `wup demo` or `wup run` first")
        return
    print(f"published warehouse {warehouse.published_path}; states kept in {warehouse.states_path}")
    for state in states:
        mark = "*" if state.published else " "
        print(f" {mark} {state.created_at:%Y-%m-%d %H:%M:%S} UTC  run {state.run_id:<38} "
              f"{state.size_bytes / 2**20:8.1f} MiB  {state.name}" + ("  (published)" if state.published else ""))


def cmd_rollback(args: argparse.Namespace) -> None:
    from wup_pipeline.resources.warehouse import WarehouseStateError

    warehouse = _warehouse()
    try:
        state = warehouse.rollback(states_back=args.states_back)
    except WarehouseStateError as exc:
        raise _error(str(exc)) from None
    print(f"published {state.name} (run {state.run_id}, {state.created_at:%Y-%m-%d %H:%M:%S} UTC) as "
          f"{warehouse.published_path}; new connections see it now")


def cmd_generate_national(args: argparse.Namespace) -> None:
    from wup_pipeline.bench.national import write_national_dataset

    out = Path(args.out)
    print(f"writing a SYNTHETIC national dataset of {args.dwellings:,} dwellings into {out}")
    dataset = write_national_dataset(out, dwellings=args.dwellings, seed=args.seed, labels=not args.no_labels)
    totals = dataset.manifest["totals"]
    print(f"{totals['dwellings']:,} dwellings in {totals['verblijfsobjecten']:,} verblijfsobjecten and "
          f"{totals['panden']:,} panden, {totals['buurten']:,} buurten, {len(dataset.manifest['gemeenten'])} "
          f"gemeenten, {totals['labels']:,} labels; {dataset.manifest['seconds']} s")


def cmd_bench(args: argparse.Namespace) -> None:
    from wup_pipeline.bench.national import MANIFEST, NATIONAL_DWELLINGS, write_national_dataset
    from wup_pipeline.bench.runner import run_bench
    from wup_pipeline.resources.settings import project_paths

    root = project_paths().root / DEFAULT_BENCH_DIR
    data_dir = Path(args.data_dir) if args.data_dir else root / "national"
    if args.dwellings < 1:
        raise _error("--dwellings must be a positive number")
    if not (data_dir / MANIFEST).is_file():
        if args.data_dir:
            raise _error(f"no national dataset in {data_dir}: run `wup generate-national --out {data_dir}`")
        print(f"no national dataset yet; writing one ({NATIONAL_DWELLINGS:,} dwellings) into {data_dir}",
              file=sys.stderr, flush=True)  # stdout carries the one JSON line
        write_national_dataset(data_dir, log=lambda message: None)
    work = Path(args.work_dir) if args.work_dir else root / f"run-{args.dwellings}"
    try:
        report = run_bench(data_dir, args.dwellings, work, seed=args.seed,
                           exclude=[k for k in (args.exclude or "").split(",") if k])
    except (RuntimeError, FileNotFoundError) as exc:
        raise _error(str(exc)) from None
    print(json.dumps(report, separators=(",", ":")))


def register(subparsers) -> None:
    """Add `states`, `rollback`, `generate-national` and `bench` to the `wup` command line."""
    states = subparsers.add_parser("states", help="list the kept warehouse states (the published one marked *)")
    states.add_argument("--json", action="store_true", help="print JSON")
    states.set_defaults(func=cmd_states)
    rollback = subparsers.add_parser("rollback", help="publish an earlier warehouse state again")
    rollback.add_argument("--states-back", type=int, default=1, help="how many states back (default 1)")
    rollback.set_defaults(func=cmd_rollback)
    generate = subparsers.add_parser("generate-national", help="write the SYNTHETIC national benchmark dataset")
    generate.add_argument("--dwellings", type=int, default=8_125_229, help="dwellings in all (default: national)")
    generate.add_argument("--out", required=True, help="directory to write into")
    generate.add_argument("--seed", type=int, default=2026)
    generate.add_argument("--no-labels", action="store_true", help="leave out the EP-Online bulk label file")
    generate.set_defaults(func=cmd_generate_national)
    bench = subparsers.add_parser("bench", help="run the whole transform on N dwellings of the national dataset; "
                                  "prints one JSON line")
    bench.add_argument("--dwellings", type=int, required=True)
    bench.add_argument("--data-dir", help="national dataset (default: $WUP_HOME/bench/national, written if absent)")
    bench.add_argument("--work-dir", help="scratch project directory (default: $WUP_HOME/bench/run-N; replaced)")
    bench.add_argument("--seed", type=int, default=2026, help="chooses the first gemeente of the sample")
    bench.add_argument("--exclude", help="asset keys (comma-separated, e.g. marts/route_costs_dwelling_group) left "
                       "out with everything downstream of them, to measure the rest")
    bench.set_defaults(func=cmd_bench)
