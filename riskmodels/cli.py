"""The ``riskmodels`` command.

Exit codes: 0 success; 1 the command ran and found a problem (data quality errors, a failed
report); 2 bad usage or configuration; 3 data not found or a download failed.

Subcommands::

    riskmodels data check [--symbols BTC ETH ...] [--freq 1d] [--market spot] [--mirror PATH]
    riskmodels data fetch BTC ETH --freq 1d --market spot|perp|mark|index --start 2024-01
        [--end 2024-06] [--force] [--timeout SECONDS] [--deadline SECONDS]
    riskmodels report data|calibration|validation|all [--config configs/default.toml] [--quick]
        [--out reports] [--backend loky|dask|sequential] [--n-jobs N] [--scheduler ADDRESS]
        [--cache-dir DIR]
    riskmodels report --list

``report --list`` prints every report: its name, title, notebook and what it shows. While a
report builds, one line per notebook section (``## `` heading) goes to stderr as execution
reaches it, e.g. ``calibration: [3/14] ## Close-out tier tables (12.4 s)`` (seconds since the
notebook's first cell); the reports do not depend on it.

``report``'s ``--backend``, ``--n-jobs``, ``--scheduler`` and ``--cache-dir`` replace the
config's ``[run]`` keys of the same names (:meth:`riskmodels.config.RunConfig.with_run`): where
the notebooks run their walk-forward backtests, e.g. on a dask cluster with
``--backend dask --scheduler tcp://10.0.0.5:8786``; ``--backend loky`` or ``sequential`` also
drops the config's dask ``scheduler``. The numbers do not depend on them; a bad value is a
configuration error (exit 2).

The command holds no logic of its own: it parses arguments and calls the package.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from riskmodels.exceptions import (
    ConfigError,
    DataNotFoundError,
    DownloadError,
    RiskModelsError,
)

__all__ = ["main"]

EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, EXIT_DATA = 0, 1, 2, 3


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="riskmodels",
        description="Risk models for cross-margined crypto derivatives portfolios.",
    )
    p.add_argument("--version", action="store_true", help="print the version and exit")
    sub = p.add_subparsers(dest="command")

    data = sub.add_parser("data", help="load, check and fetch market data")
    dsub = data.add_subparsers(dest="data_command")
    chk = dsub.add_parser("check", help="quality report for a universe")
    chk.add_argument(
        "--symbols", nargs="+", default=None, help="base symbols (default: ten majors)"
    )
    chk.add_argument("--freq", default="1d", help="1d, 4h, 1h, 15m, 5m or 1m (default 1d)")
    chk.add_argument(
        "--market",
        default="spot",
        help="spot, perp, mark, index, coinm or coinm_mark (default spot)",
    )
    chk.add_argument("--mirror", default=None, help="mirror folder (default: RISKMODELS_MIRROR)")
    chk.add_argument(
        "--source", choices=("mirror", "archive"), default="mirror", help="where bars come from"
    )
    chk.add_argument("--cache-dir", default=None, help="archive cache (with --source archive)")
    chk.add_argument("--html", default=None, help="also write the report as HTML to this path")

    fetch = dsub.add_parser("fetch", help="download klines from Binance's public archive")
    fetch.add_argument("symbols", nargs="+", help="base symbols, e.g. BTC ETH")
    # validated by the package (a bad value is a configuration error, exit 2), not by argparse
    fetch.add_argument("--freq", default="1d", help="1d, 4h, 1h, 15m, 5m or 1m (default 1d)")
    fetch.add_argument(
        "--market",
        default="spot",
        help="spot, perp (USDⓈ-M last price), mark or index (USDⓈ-M mark / index price)",
    )
    fetch.add_argument("--start", required=True, help="first month or day, e.g. 2024-01")
    fetch.add_argument("--end", default=None, help="last month or day (default: today)")
    fetch.add_argument("--cache-dir", default=None, help="cache folder (default data/cache)")
    fetch.add_argument("--base-url", default=None, help=argparse.SUPPRESS)
    fetch.add_argument("--no-progress", action="store_true", help="no progress bar")
    fetch.add_argument(
        "--force",
        action="store_true",
        help="download again even if cached (replaces a cached file only once the new one is "
        "verified); use it for a cached file reported as unreadable",
    )
    fetch.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        help="seconds to wait for the connection or any single read (default 30)",
    )
    fetch.add_argument(
        "--deadline",
        type=float,
        default=None,
        help="seconds one file's download may take in all (default max(300, 20 x timeout)); "
        "a slower download fails and caches nothing",
    )

    cache = sub.add_parser("cache", help="inspect task caches (walk-forward, calibration grids)")
    csub = cache.add_subparsers(dest="cache_command")
    ver = csub.add_parser(
        "verify",
        help="check every entry's digest and HMAC without unpickling it",
        description="Lists every entry of a task cache as ok, corrupt, untrusted or old-format "
        "(nothing is unpickled). Exit 0 when all are ok, 1 otherwise.",
    )
    ver.add_argument("directory", help="the cache_dir given to walk_forward / calibration_grid")
    ver.add_argument(
        "--delete", action="store_true", help="remove every entry that is not ok (recomputed later)"
    )

    rep = sub.add_parser("report", help="execute notebooks and render HTML reports")
    rep.add_argument(
        "name", nargs="?", default=None, choices=("data", "calibration", "validation", "all")
    )
    rep.add_argument(
        "--list", action="store_true", help="list the reports (name, title, notebook) and exit"
    )
    rep.add_argument(
        "--config", default=None, help="run config TOML (default configs/default.toml)"
    )
    rep.add_argument("--out", default="reports", help="output root (default reports/)")
    rep.add_argument("--quick", action="store_true", help="small, fast profile (tests)")
    run = rep.add_argument_group(
        "where the backtests run", "override the config's [run] keys; the numbers do not change"
    )
    # validated by the config (a bad value is a configuration error, exit 2), not by argparse
    run.add_argument(
        "--backend",
        default=None,
        metavar="{loky,dask,sequential}",
        help="joblib processes, dask.distributed, or the notebook's own process",
    )
    run.add_argument(
        "--n-jobs",
        default=None,
        type=_int_or_text,
        metavar="N",
        help="worker processes, -1 for every core (dask: workers of the local cluster)",
    )
    run.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="a running dask scheduler, e.g. tcp://10.0.0.5:8786 (with --backend dask)",
    )
    run.add_argument(
        "--cache-dir",
        default=None,
        metavar="DIR",
        help="backtest task cache: a rerun after an interruption resumes from it",
    )
    return p


def _int_or_text(text: str) -> int | str:
    """An integer when ``text`` is one; else the text, for the config to reject with its fix."""
    try:
        return int(text)
    except ValueError:
        return text


def _data_check(args: argparse.Namespace) -> int:
    from riskmodels.data import MirrorSource, Source, check_quality
    from riskmodels.data._frames import DEFAULT_UNIVERSE, parse_symbol

    src: Source
    if args.source == "archive":
        from riskmodels.data.archive import BinanceArchive

        src = BinanceArchive(args.cache_dir)
    else:
        src = MirrorSource(args.mirror)
    symbols = [parse_symbol(s) for s in (args.symbols or DEFAULT_UNIVERSE)]
    reports = []
    for sym in symbols:
        bars = src.bars(sym, args.freq, args.market)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rep = check_quality(
                bars, freq=args.freq, as_of=bars.attrs.get("as_of"), policy="warn", symbol=sym
            )
        reports.append(rep)
    from riskmodels.data.quality import combine

    report = combine(reports)
    print(report)
    if args.html:
        from riskmodels.reporting.io import atomic_write_text

        atomic_write_text(Path(args.html), report._repr_html_())
        print(f"wrote {args.html}")
    n_err = len(report.errors)
    if n_err:
        print(f"{n_err} error finding(s) in {len(symbols)} symbol(s).", file=sys.stderr)
        return EXIT_PROBLEM
    return EXIT_OK


def _data_fetch(args: argparse.Namespace) -> int:
    from riskmodels.data.archive import DEFAULT_BASE_URL, BinanceArchive, fetch_many

    archive = BinanceArchive(
        args.cache_dir,
        # --base-url: a mirror of the archive (tests serve one on 127.0.0.1)
        base_url=args.base_url or DEFAULT_BASE_URL,
        timeout=args.timeout,
        deadline=args.deadline,
    )
    got = fetch_many(
        args.symbols,
        args.freq,
        args.market,
        args.start,
        args.end,
        progress=not args.no_progress,
        force=args.force,
        archive=archive,
    )
    for sym, recs in got.items():
        print(f"{sym}: {len(recs)} file(s) cached")
    return EXIT_OK


def _cache_verify(args: argparse.Namespace) -> int:
    from riskmodels.parallel import verify_cache

    table = verify_cache(args.directory, delete=args.delete)
    swept = table.attrs.get("removed_temp_files", [])
    if swept:
        print(f"removed {len(swept)} temporary file(s) left by dead writers")
    if table.empty:
        print(f"{args.directory}: no cache entries")
        return EXIT_OK
    counts = table["status"].value_counts()
    for _, row in table[table["status"] != "ok"].iterrows():
        gone = " (deleted)" if row["deleted"] else ""
        print(f"{row['status']}: {row['file']}: {row['detail']}{gone}")
    print(", ".join(f"{n} {s}" for s, n in counts.items()))
    return EXIT_OK if (table["status"] == "ok").all() else EXIT_PROBLEM


def _report_list() -> int:
    from riskmodels.reporting.registry import REPORTS

    for spec in REPORTS.values():
        missing = "" if spec.available() else " (notebook not in this checkout)"
        print(f"{spec.name}: {spec.title}")
        print(f"    notebook: {spec.notebook}{missing}")
        print(f"    {spec.description}")
    print("Build one with `riskmodels report NAME`, or every report with `riskmodels report all`.")
    return EXIT_OK


def _progress_line(line: str) -> None:
    """A report's section progress, on stderr (stdout keeps the paths written)."""
    print(line, file=sys.stderr, flush=True)


def _report(args: argparse.Namespace) -> int:
    if args.list:
        return _report_list()
    if args.name is None:
        raise ConfigError(
            "riskmodels report needs a report name (data, calibration, validation or all); "
            "`riskmodels report --list` lists them."
        )
    from riskmodels.config import load_config
    from riskmodels.reporting import build_reports

    config = load_config(args.config, quick=args.quick)
    given = {
        "backend": args.backend,
        "n_jobs": args.n_jobs,
        "scheduler": args.scheduler,
        "cache_dir": args.cache_dir,
    }
    changes = {k: v for k, v in given.items() if v is not None}
    if args.backend not in (None, "dask") and args.scheduler is None:
        changes["scheduler"] = None  # the config's dask scheduler has no use on another backend
    if changes:
        config = config.with_run(**changes)
    paths = build_reports(
        args.name, config=config, out_root=Path(args.out), progress=_progress_line
    )
    for p in paths:
        print(f"wrote {p}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``riskmodels`` command; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.version:
        from riskmodels import __version__

        print(f"riskmodels {__version__}")
        return EXIT_OK
    try:
        if args.command == "data" and args.data_command == "check":
            return _data_check(args)
        if args.command == "data" and args.data_command == "fetch":
            return _data_fetch(args)
        if args.command == "report":
            return _report(args)
        if args.command == "cache" and args.cache_command == "verify":
            return _cache_verify(args)
    except ConfigError as exc:
        print(f"riskmodels: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (DataNotFoundError, DownloadError) as exc:
        print(f"riskmodels: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_DATA
    except RiskModelsError as exc:
        print(f"riskmodels: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_PROBLEM
    parser.print_help(sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
