"""A smoother start (issue 15, item 5): ``import riskmodels`` exposes the subpackages lazily,
confidence levels below 0.5 warn and targets of 0.5 or more are refused, ``riskmodels report
--list`` lists the reports, and a report build prints one line per notebook section.
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import riskmodels
from riskmodels.cli import main
from riskmodels.exceptions import ConfidenceLevelWarning, ConfigError, RiskModelsWarning
from riskmodels.reporting import REPORTS
from riskmodels.reporting import notebooks as nbx

SUBPACKAGES = (
    "data",
    "volatility",
    "correlation",
    "scenarios",
    "risk",
    "backtest",
    "instruments",
    "margin",
    "liquidation",
    "calibration",
    "stress",
    "reporting",
)


# -- import riskmodels ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", SUBPACKAGES)
def test_subpackages_are_attributes(name: str) -> None:
    import importlib

    module = getattr(riskmodels, name)
    assert module is importlib.import_module(f"riskmodels.{name}")
    assert name in riskmodels.__all__ and name in dir(riskmodels)


def test_import_is_lazy_and_unknown_names_raise() -> None:
    # a fresh interpreter: importing the package imports none of its subpackages (nor numpy)
    code = (
        "import sys, riskmodels\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('riskmodels.') or m == 'numpy')\n"
        "assert not loaded, loaded\n"
        "print(riskmodels.margin.PortfolioMargin.__name__, riskmodels.__version__)\n"
        "try:\n"
        "    riskmodels.nothing_here\n"
        "except AttributeError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout.splitlines()
    assert out[0] == f"PortfolioMargin {riskmodels.__version__}"
    assert out[1] == "module 'riskmodels' has no attribute 'nothing_here'"


# -- confidence levels and targets ---------------------------------------------------------------
def test_alpha_below_half_warns_and_suggests_the_confidence_level() -> None:
    from riskmodels.risk import es, var, var_normal

    pnl = np.random.default_rng(0).standard_normal(1_000)
    with pytest.warns(ConfidenceLevelWarning, match=r"did you mean 0\.99\?") as rec:
        low = var(pnl, 0.01)
    assert issubclass(ConfidenceLevelWarning, RiskModelsWarning)
    assert low < 0  # what the user got: a gain, not a loss
    # the warning points at the caller's line, not inside the package
    assert [Path(w.filename).name for w in rec] == [Path(__file__).name]
    with pytest.warns(ConfidenceLevelWarning, match=r"did you mean 0\.95\?"):
        es(pnl, 0.05)
    with pytest.warns(ConfidenceLevelWarning, match=r"did you mean 0\.975\?"):
        var_normal(0.0, 1.0, 0.025)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConfidenceLevelWarning)
        assert var(pnl, 0.99) > 0 and np.isfinite(var(pnl, 0.5))  # 0.5 and above: silent


def test_alpha_warning_from_the_margin_models() -> None:
    from riskmodels.margin import PortfolioMargin
    from riskmodels.scenarios import Scenarios

    sc = Scenarios(np.random.default_rng(1).normal(0, 0.03, (500, 1)), ("BTC",), pd.Timedelta("1D"))
    with pytest.warns(ConfidenceLevelWarning, match=r"alpha=0\.01 .* did you mean 0\.99\?"):
        PortfolioMargin(sc, alpha=0.01)


@pytest.mark.parametrize(("bad", "suggest"), [(0.5, "0.5"), (0.995, "0.005"), (0.99, "0.01")])
def test_target_of_half_or_more_is_a_named_error(bad: float, suggest: str) -> None:
    from riskmodels.calibration import calibrate_mmr, check_target

    r = pd.DataFrame(
        {"X": np.random.default_rng(2).normal(0, 0.02, 400)},
        index=pd.date_range("2023-01-01", periods=400, freq="D", tz="UTC"),
    )
    msg = rf"target={bad} is not a target probability.*did you mean {suggest}\?"
    with pytest.raises(ConfigError, match=msg):
        check_target(bad)
    with pytest.raises(ConfigError, match=msg):
        calibrate_mmr(r, "X", "1d", target=bad)
    assert check_target(0.005) == 0.005 and check_target(0.49) == 0.49


def test_closeout_targets_of_half_or_more_are_refused() -> None:
    from riskmodels.calibration.closeout import calibrate_closeout
    from riskmodels.margin import binance_usdm_tiers

    idx = pd.date_range("2024-01-01", periods=10, freq="min", tz="UTC")
    bars = pd.DataFrame(
        {"open": 100.0, "high": 101.0, "low": 99.0, "close": 100.0, "volume": 1.0}, index=idx
    )
    with pytest.raises(ConfigError, match=r"target=0\.995 is not a target probability"):
        calibrate_closeout({"BTC": bars}, tiers=binance_usdm_tiers(), target=0.995)
    with pytest.raises(ConfigError, match=r"im_target=0\.99 is not a target probability"):
        calibrate_closeout({"BTC": bars}, tiers=binance_usdm_tiers(), im_target=0.99)


# -- riskmodels report --list --------------------------------------------------------------------
def test_report_list_prints_every_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--list"]) == 0
    out = capsys.readouterr().out
    for spec in REPORTS.values():
        assert f"{spec.name}: {spec.title}\n" in out
        assert f"notebook: {spec.notebook}" in out
        assert spec.description in out
    assert out.index("data:") < out.index("calibration:") < out.index("validation:")


def test_report_without_a_name_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report"]) == 2
    assert "riskmodels report --list" in capsys.readouterr().err


# -- section progress during a build -------------------------------------------------------------
_TINY = """# %% [markdown]
# # Tiny report

# %% tags=["parameters"]
output_dir = None
value = 1

# %% [markdown]
# ## First section
#
# Some text.

# %%
x = value + 1
print(x)

# %% [markdown]
# Not a heading: ## in the middle of a line

# %% [markdown]
# Intro line
#
# ## Second section ##

# %%
x * 2
"""


def test_progress_prints_one_line_per_section(tmp_path: Path) -> None:
    src = tmp_path / "nb" / "tiny.py"
    src.parent.mkdir()
    src.write_text(_TINY, encoding="utf-8")
    lines: list[str] = []
    quiet = nbx.execute_notebook(
        nbx.read_notebook(src), tmp_path / "a.ipynb", {"value": 2}, source="tiny.py"
    )
    loud = nbx.execute_notebook(
        nbx.read_notebook(src),
        tmp_path / "b.ipynb",
        {"value": 2},
        source="tiny.py",
        progress=lines.append,
        progress_label="demo",
    )
    assert [ln.rsplit(" (", 1)[0] for ln in lines] == [
        "demo: [1/2] ## First section",
        "demo: [2/2] ## Second section",
    ]
    assert all(ln.endswith(" s)") for ln in lines)
    # progress goes to the caller only: the executed notebooks are the same
    strip = lambda nb: [(c.cell_type, c.source, c.get("outputs")) for c in nb.cells]  # noqa: E731
    assert strip(quiet) == strip(loud)


def test_build_report_sends_progress_and_renders_the_same_page(tmp_path: Path) -> None:
    from riskmodels.config import load_config
    from riskmodels.reporting import ReportSpec, build_report

    root = tmp_path / "repo"
    (root / "notebooks").mkdir(parents=True)
    (root / "notebooks" / "tiny.py").write_text(_TINY, encoding="utf-8")
    spec = ReportSpec("tiny", "Tiny", "notebooks/tiny.py", "a test report")
    config = load_config(Path(__file__).resolve().parents[2] / "configs" / "quick.toml")
    lines: list[str] = []
    import datetime as dt

    now = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    a = build_report(spec, config, tmp_path / "a", root=root, now=now, progress=lines.append)
    b = build_report(spec, config, tmp_path / "b", root=root, now=now)
    assert [ln.split(" (")[0] for ln in lines] == [
        "tiny: [1/2] ## First section",
        "tiny: [2/2] ## Second section",
    ]
    assert a.read_bytes() == b.read_bytes()


def test_cli_prints_section_progress_to_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import riskmodels.reporting as rep

    seen: dict[str, object] = {}

    def fake_build(name: str, **kwargs: object) -> list[Path]:
        seen.update(kwargs, name=name)
        progress = kwargs["progress"]
        assert callable(progress)
        progress("data: [1/3] ## Coverage (0.5 s)")
        return [tmp_path / "index.html"]

    monkeypatch.setattr(rep, "build_reports", fake_build)
    assert main(["report", "data", "--quick"]) == 0
    out, err = capsys.readouterr()
    assert seen["name"] == "data"
    assert err == "data: [1/3] ## Coverage (0.5 s)\n"
    assert out == f"wrote {tmp_path / 'index.html'}\n"
