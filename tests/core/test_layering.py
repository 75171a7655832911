"""The package's floors (issue 17 item 1, ../shared/DESIGN.md): every import across subpackages
goes through public names, and the ground floor imports no subpackage.

The ground floor is the top-level private modules (``riskmodels._time``, ``_random``,
``_display``, ``_frozen``, ``_deprecation``, ``_typing``, ``_io``, ``_threads``, ``_limits``,
``_validation``) plus ``exceptions``: shared by every subpackage by design. A subpackage may use another's private
module or name only through a public name, so that each package can change its insides freely.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "riskmodels"
GROUND = {
    "_time",
    "_random",
    "_display",
    "_frozen",
    "_deprecation",
    "_typing",
    "_io",
    "_threads",
    "_limits",
    "_validation",
}
#: Top-level modules kept light for the command line's start-up (they read names from
#: ``riskmodels.data._frames`` instead of importing ``riskmodels.data``, which loads pyarrow and
#: the quality checks): the one documented exception.
LIGHT_TOP_LEVEL = {"config.py", "cli.py"}


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("riskmodels")
        ):
            yield node.lineno, node.module, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("riskmodels"):
                    yield node.lineno, a.name, []


def _cross_package_private(path: Path) -> list[str]:
    rel = path.relative_to(PACKAGE)
    own = rel.parts[0] if len(rel.parts) > 1 else None
    if own is None and rel.name in LIGHT_TOP_LEVEL:
        return []
    bad = []
    for line, module, names in _imports(path):
        parts = module.split(".")[1:]
        target = parts[0] if parts else None
        if target is None or target == own or target in GROUND or target == "exceptions":
            continue
        private = [p for p in parts if p.startswith("_")] + [n for n in names if n.startswith("_")]
        if private:
            bad.append(f"{rel}:{line}: from {module} import {', '.join(names)}")
    return bad


def test_no_private_imports_across_packages():
    offenders = [b for p in sorted(PACKAGE.rglob("*.py")) for b in _cross_package_private(p)]
    assert offenders == [], "\n".join(offenders)


def test_the_ground_floor_imports_no_subpackage():
    subpackages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    offenders = []
    for name in sorted(GROUND):
        path = PACKAGE / f"{name}.py"
        if not path.is_file():
            continue
        for line, module, _ in _imports(path):
            parts = module.split(".")
            if len(parts) > 1 and parts[1] in subpackages:
                offenders.append(f"{path.name}:{line}: {module}")
    assert offenders == [], "\n".join(offenders)


def test_the_guard_sees_a_private_import(tmp_path, monkeypatch):
    # Negative control: a module of one subpackage importing another's private module.
    fake = tmp_path / "riskmodels" / "margin"
    fake.mkdir(parents=True)
    mod = fake / "x.py"
    mod.write_text(
        "from riskmodels.risk._topk import var_es_rows\nfrom riskmodels._time import as_timedelta\n"
    )
    monkeypatch.setattr(__import__(__name__), "PACKAGE", tmp_path / "riskmodels")
    assert _cross_package_private(mod) == [
        "margin/x.py:1: from riskmodels.risk._topk import var_es_rows"
    ]


def test_summary_returns_one_of_two_documented_types():
    # Issue 17: ``summary()`` had four return types. The rule now: a fitted model or a backtest
    # returns a statsmodels ``Summary`` (text, HTML, LaTeX, as arch and statsmodels do); a
    # tabular result returns a ``pd.DataFrame``. Read from the annotations of every method.
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name == "summary" and node.returns:
                found[f"{path.relative_to(PACKAGE)}:{node.lineno}"] = ast.unparse(node.returns)
    assert len(found) >= 15
    # the display mixin's abstract summary() is annotated with the union of the two types
    mixin = [k for k in found if k.startswith("_display.py:")]
    assert len(mixin) == 1 and found.pop(mixin[0]) == "Summary | pd.DataFrame"
    odd = {k: v for k, v in found.items() if v not in ("pd.DataFrame", "Summary")}
    assert odd == {}, odd


def test_results_and_new_specs_are_keyword_only():
    # Issue 17: options and results are keyword-only, so a field added or reordered cannot
    # silently shift a positional argument. Checked on the dataclass fields themselves.
    import dataclasses
    import importlib

    names = {
        "riskmodels.parallel": ["RunOptions", "TaskRun", "CachedRun"],
        "riskmodels.backtest": [
            "WalkForward",
            "WalkForwardResult",
            "TestResult",
            "TrafficLightResult",
            "MCSResult",
        ],
        "riskmodels.calibration": [
            "MMRCalibrator",
            "MMRCalibration",
            "CloseoutCalibration",
            "CalibrationGrid",
            "ProcyclicalityMetrics",
        ],
        "riskmodels.margin": [
            "MarginResult",
            "BookMarginResult",
            "MonitorResult",
            "LiquidationPrice",
        ],
        "riskmodels.stress": ["ReverseStressResult"],
        "riskmodels.backtest.fitted": ["FittedVaRModel"],
        "riskmodels.scenarios.historical": ["FittedHistoricalScenarios"],
        "riskmodels.scenarios.filtered": ["FittedFilteredHistoricalScenarios"],
        "riskmodels.scenarios.montecarlo": ["FittedMonteCarloScenarios"],
        "riskmodels.scenarios.factors": ["FittedCarryFactors", "FittedFactorScenarios"],
        "riskmodels.volatility": ["VolatilityResult", "PanelVolatilityResult"],
        "riskmodels.correlation": ["CorrelationResult", "CorrelationForecast"],
        "riskmodels.liquidation": ["LiquidationResult"],
        "riskmodels.risk": ["RiskEstimate", "GPDTailFit"],
        "riskmodels.data": ["QualityReport"],
    }
    positional = []
    for module, classes in names.items():
        mod = importlib.import_module(module)
        for cls in classes:
            fields = dataclasses.fields(getattr(mod, cls))
            positional += [f"{module}.{cls}.{f.name}" for f in fields if f.init and not f.kw_only]
    assert positional == []
