"""Run-report plots (reports/plots.py) and the cross-run comparison (reports/compare.py).

Small real run directories are made once per module with the harness itself.
"""
from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks import store
from benchmarks.core import metrics
from benchmarks.core.errors import BenchmarkError, ConfigError
from benchmarks.run_record import freeze
from benchmarks.runner import RunOptions, run_suite
from benchmarks.suite import parse_suite
from reports import curves as report_curves
from reports import plots
from reports.analysis import analyse_run
from reports.compare import compare_runs, write_comparison
from reports.sections import SectionContext, plots_section

pytestmark = pytest.mark.sklearn


def _iris_run(out: Path, n_estimators: int) -> Path:
    raw = {"name": "iris-mini",
           "datasets": [{"name": "iris", "repeats": 1, "preprocess": {"standardise": True}}],
           "models": [{"name": "random-forest", "params": {"n_estimators": n_estimators}}]}
    return run_suite(parse_suite(raw), out, RunOptions(progress=False, tune=False), log=lambda s: None).run_dir


@pytest.fixture(scope="module")
def iris_runs(tmp_path_factory) -> tuple[Path, Path, Path]:
    """Runs a and b are the same settings (same seeds); run c has different params."""
    base = tmp_path_factory.mktemp("iris")
    return (_iris_run(base / "run_a", 10), _iris_run(base / "run_b", 10), _iris_run(base / "run_c", 20))


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory) -> Path:
    """A blind HiggsML-like run (public + private test parts), two models, one seed."""
    try:
        import datasets.higgsml_toy  # noqa: F401  (registers "higgsml-toy")
    except ImportError:
        pytest.skip("datasets.higgsml_toy not available")
    raw = {"name": "toy-mini", "blind": True,
           "datasets": [{"name": "higgsml-toy", "options": {"n_events": 2000, "seed": 0}, "repeats": 1,
                         "preprocess": {"missing": "impute", "standardise": True}}],
           "models": [{"name": "random-forest", "params": {"n_estimators": 20}},
                      {"name": "random-forest", "label": "rf-shallow", "params": {"n_estimators": 20, "max_depth": 3}}]}
    out = tmp_path_factory.mktemp("toy") / "run"
    return run_suite(parse_suite(raw), out, RunOptions(progress=False, tune=False), log=lambda s: None).run_dir


def _copy(run: Path, dest: Path, **results_changes) -> Path:
    shutil.copytree(run, dest)
    results = store.read_json(dest / store.RESULTS)
    results.update(results_changes)
    store.write_json(dest / store.RESULTS, results)
    return dest


def _assert_pngs(run_dir: Path, plot_list) -> None:
    for plot in plot_list:
        assert plot.caption and plot.path.startswith("plots/") and plot.path.endswith(".png")
        path = run_dir / plot.path
        assert path.stat().st_size > 0
        with Image.open(path) as img:
            img.verify()
            assert img.format == "PNG"


# ------------------------------------------------------------------------------------ plots


def _analysed(run: Path, blind: bool = False, **results_changes):
    stored = store.open_run(run, unblind=not blind)
    stored = dataclasses.replace(stored, **{k: freeze(v) for k, v in results_changes.items()})
    return analyse_run(stored)


def test_make_plots_iris_writes_roc_timing_tuning(iris_runs, tmp_path):
    run = _copy(iris_runs[0], tmp_path / "run")
    tuning = {"iris/random-forest": {"history": [[0, 0.8], [1, 0.9], [2, None], [3, 0.85]], "best_value": 0.9}}
    analysis = _analysed(run, tuning=tuning)
    out = plots.make_plots(analysis, run)
    assert list(out) == ["iris"]
    names = [Path(p.path).name for p in out["iris"]]
    assert names == ["iris_roc.png", "iris_timing.png", "iris_tuning.png"]  # accuracy has no threshold curve
    _assert_pngs(run, out["iris"])
    assert not list((run / store.PLOTS).glob(".*"))  # no temporary file of the atomic writes is left
    ctx = SectionContext(analysis, analysis.datasets[0], tuple(out["iris"]))
    md = plots_section(ctx)
    for p in out["iris"]:
        assert f"![{p.caption}]({p.path})" in md
    assert plots_section(SectionContext(analysis, analysis.datasets[0])) == ""


def test_plots_are_written_atomically(iris_runs, tmp_path, monkeypatch):
    """A plot that fails half-way leaves the previous file, never a torn one."""
    run = _copy(iris_runs[0], tmp_path / "run")
    analysis = _analysed(run)
    first = plots.make_plots(analysis, run)["iris"][0]
    before = (run / first.path).read_bytes()

    def broken_savefig(self, fh, **kw):
        fh.write(b"\x89PNG half")
        raise OSError("disk full")

    monkeypatch.setattr(plots.plt.Figure, "savefig", broken_savefig)
    with pytest.raises(OSError, match="disk full"):
        plots.make_plots(analysis, run)
    assert (run / first.path).read_bytes() == before
    assert not list((run / store.PLOTS).glob(".*"))


def test_roc_auc_is_event_weighted():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    s = np.clip(0.3 * y + rng.normal(0.35, 0.25, 400), 0, 1)
    w = rng.uniform(0.1, 5.0, 400)
    _, _, auc = report_curves.roc_curve_data(y, np.column_stack([1 - s, s]), w)
    assert auc == pytest.approx(metrics.weighted_auc(y, s, w), abs=1e-9)
    assert auc != pytest.approx(metrics.weighted_auc(y, s), abs=1e-4)  # the weights matter
    # multiclass: a perfect one-hot score gives AUC 1 on the micro-average
    yk = np.arange(30) % 3
    _, _, auc_k = report_curves.roc_curve_data(yk, np.eye(3)[yk], np.ones(30))
    assert auc_k == pytest.approx(1.0)


def test_blind_roc_never_reads_private(toy_run, tmp_path, monkeypatch):
    run = _copy(toy_run, tmp_path / "run")
    blind, open_ = _analysed(run, blind=True).datasets[0], _analysed(run).datasets[0]
    assert set(blind.first_seed) == {"random-forest", "rf-shallow"}
    assert blind.tests == ("public",) and open_.tests == ("public", "private")

    read: list[str] = []
    original = np.lib.npyio.NpzFile.__getitem__

    def spy(self, key):
        read.append(key)
        return original(self, key)

    monkeypatch.setattr(np.lib.npyio.NpzFile, "__getitem__", spy)
    roc = report_curves.roc_curves(store.open_run(run), blind.first_seed, blind.tests)
    curves, skipped = roc.curves, roc.skipped
    assert not skipped and set(curves) == set(blind.first_seed)
    assert read and not any(k.startswith("private") for k in read)
    read.clear()
    report_curves.roc_curves(store.open_run(run, unblind=True), open_.first_seed, open_.tests)
    assert any(k.startswith("private") for k in read)  # the spy does see private reads
    monkeypatch.undo()

    # Strip the private arrays from every prediction file: blind plots must still work.
    for path in (run / store.PREDICTIONS).glob("*.npz"):
        with np.load(path) as npz:
            kept = {k: npz[k] for k in npz.files if not k.startswith("private")}
        store.write_npz(path, **kept)
    out = plots.make_plots(_analysed(run, blind=True), run)
    names = [Path(p.path).name for p in out["higgsml-toy"]]
    assert names[:3] == ["higgsml-toy_roc.png", "higgsml-toy_ams_cut.png", "higgsml-toy_timing.png"]
    assert "private part not used" in out["higgsml-toy"][0].caption
    _assert_pngs(run, out["higgsml-toy"])
    # the blind AUC is the public part's alone (close to the stored metric, made before float32 storage)
    stripped = store.open_run(run)
    for label, (_, _, auc) in curves.items():
        pub = stripped.splits(blind.first_seed[label])["public"]
        assert auc == pytest.approx(metrics.weighted_auc(pub.y, pub.proba, pub.w))
        assert auc == pytest.approx(blind.first_seed[label].metrics["auc_public"], abs=2e-3)


def test_threshold_curve_marks_the_validation_cut(toy_run, tmp_path):
    """The metric's threshold curve on the stored validation predictions, its chosen cut marked."""
    run = _copy(toy_run, tmp_path / "run")
    data = _analysed(run).datasets[0]
    stored = store.open_run(run, unblind=True)
    curves = report_curves.cut_curves(stored, data.first_seed, data.metric)
    assert set(curves) == set(data.first_seed)
    for label, curve in curves.items():
        cuts, values, cut, at_cut, reliable = curve.cuts, curve.values, curve.cut, curve.at_cut, curve.reliable
        val = stored.splits(data.first_seed[label])["val"]
        s, y, w = val.proba[:, 1], val.y, val.w
        assert cut == data.first_seed[label].metrics["cut"]  # the record's own cut is marked
        assert at_cut == pytest.approx(metrics.ams_at_cut(s, y, w, cut))
        assert len(cuts) == len(values) == len(reliable) and values.max() >= at_cut
        assert np.array_equal(reliable, metrics.background_counts(s, y, cuts) >= 10)


def test_encoder_sheets_are_linked_when_present(iris_runs, tmp_path):
    run = _copy(iris_runs[0], tmp_path / "run")
    results = store.read_json(run / store.RESULTS)
    label = results["records"][0]["model"]
    for rec in results["records"]:
        rec["info"] = {"encoder": "text", "encoder_options": {"layout": "equal", "size": 32}, "image_size": "32x32"}
    store.write_json(run / store.RESULTS, results)
    assert not any("Example images" in p.caption for p in plots.make_plots(_analysed(run), run)["iris"])
    sheet = store.example_image_path(run, "iris", label)
    Image.new("L", (40, 20), 128).save(sheet)
    caption_path = plots.make_plots(_analysed(run), run)["iris"][-1]
    assert caption_path.path == sheet.relative_to(run).as_posix()
    assert "`text`" in caption_path.caption and "layout=equal" in caption_path.caption
    assert "size=" not in caption_path.caption  # the image size is given once, as 32x32 px


# ------------------------------------------------------------------------------------ compare


def _table_after(md: str, heading: str) -> list[str]:
    block = md.split(heading, 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    return [line for line in block.splitlines() if line.startswith("| ")]


def test_compare_aligns_rows_and_lists_different_params(iris_runs):
    a, b, c = iris_runs
    md = compare_runs([a, b, c])
    assert md.count("### iris / random-forest") == 1
    rows = _table_after(md, "### iris / random-forest")
    run_a = next(r for r in rows if r.startswith("| run_a |"))
    run_b = next(r for r in rows if r.startswith("| run_b |"))
    assert "| ref |" in run_a
    assert "| 0.00 pp |" in run_b and "×" in run_b  # same seeds, same metrics; timing ratio shown
    assert '"n_estimators": 10' in md.split("## Not comparable")[0]
    lonely = md.split("## Not comparable", 1)[1]
    assert '"n_estimators": 20' in lonely and "run_c" in lonely
    absent = next(r for r in rows if r.startswith("| run_c |"))
    assert "absent" in absent  # run c has iris, but not this params row


def test_compare_hides_private_for_blind_runs(toy_run, tmp_path):
    blind = toy_run
    open_run = _copy(toy_run, tmp_path / "open", blind=False)
    md = compare_runs([blind, open_run])
    assert "AMS private" not in md and "AUC public" in md and "**Blind**" in md
    rows = _table_after(md, "### higgsml-toy / random-forest")
    second = next(r for r in rows if r.startswith("| open |"))
    assert second.count("| 0.000 |") == 2  # Δ AMS public and Δ AUC public
    md_unblind = compare_runs([blind, open_run], unblind=True)
    assert "AMS private" in md_unblind and "**Blind**" not in md_unblind
    private = np.mean([r.metrics["ams_private"] for r in store.open_run(blind).records
                       if r.model == "random-forest"])
    assert f"{private:.3f}" in md_unblind


def test_compare_bad_inputs_and_write(iris_runs, tmp_path, monkeypatch):
    a, b, _ = iris_runs
    with pytest.raises(BenchmarkError, match="not a run directory"):
        compare_runs([a, tmp_path])
    with pytest.raises(BenchmarkError, match="not found"):
        compare_runs([a, tmp_path / "missing"])
    with pytest.raises(ConfigError):
        compare_runs([a])
    out = write_comparison([a, b], tmp_path / "sub" / "cmp.md")
    assert out == tmp_path / "sub" / "cmp.md" and out.read_text().startswith("# Comparison of 2 runs")
    monkeypatch.chdir(tmp_path)
    default = write_comparison([a, b])
    assert default == tmp_path / "comparison.md" and default.is_file()
    # the same run twice would rank it against itself
    with pytest.raises(ConfigError, match="are the same run"):
        compare_runs([a, a])
