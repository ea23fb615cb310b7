"""The per-dataset sections of a report: one renderer each, one signature, one ordered registry.

A renderer takes a ``SectionContext`` (one dataset's analysed data, the run-wide facts and
the dataset's plots) and returns Markdown, or "" to leave the section out. It formats
figures the analysis step computed; it reads no file and computes no statistic. Adding a
section is one renderer here and one entry in ``SECTIONS``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

from .analysis import DatasetAnalysis, RunAnalysis
from .escape import Markup, code, image, plain
from .plots import Plot
from .tables import MISSING, fmt_mean_std, p_value, seconds, table, times
from .uncertainty import MIN_SEEDS


@dataclass(frozen=True)
class SectionContext:
    run: RunAnalysis  # run-wide facts: suite, blind, manifest
    data: DatasetAnalysis
    plots: tuple[Plot, ...] = ()


@dataclass(frozen=True)
class Section:
    name: str
    render: Callable[[SectionContext], str]
    needs_records: bool = True  # left out for a dataset without any record


def dataset_section(ctx: SectionContext) -> str:
    info = ctx.data.info
    lines = [f"## Dataset: {plain(info['name'])}", ""]
    if info.get("synthetic"):
        lines += ["> **Synthetic data.** These events come from a seeded generator with the CERN "
                  "file's schema; no physics conclusion can be drawn from them.", ""]
    lines += [f"- Source: {plain(info.get('source', '?'))}",
              f"- Events: {plain(info.get('n_events', '?'))}, features used: {plain(info.get('n_features', '?'))}, "
              f"task: {plain(info.get('task', '?'))}, metric: {ctx.data.metric.text.title}",
              f"- Seeds (repeats of split + train + evaluate): {plain(', '.join(map(str, info['seeds'])))}",
              *resampling_lines(info.get("resampling")),
              "- Preprocessing (fitted on the training split only): "
              + plain(", ".join(f"{k}={v}" for k, v in (info.get("preprocess") or {}).items()))]
    lines += [f"- {plain(note)}" for note in info.get("notes", [])]
    lines += ["", f"Split sizes for seed {plain(info['seeds'][0])} (other seeds differ only by the random "
                  "assignment):",
              "", split_table(info)]
    if info.get("weight_totals"):
        totals = plain(", ".join(f"{c}: {v:.12g}" for c, v in info["weight_totals"].items()))
        lines += ["", f"Weights of every split are rescaled per class to the full-data totals ({totals}), "
                      f"so {ctx.data.metric.text.title} is comparable between splits of any size."]
    return "\n".join(lines)


def _ratios(facts: dict) -> str:
    parts = facts.get("test_train_ratios") or {}
    if len(parts) > 1:
        return plain(", ".join(f"{name} {ratio:.3g}" for name, ratio in parts.items()))
    return f"{facts['test_train_ratio']:.3g}"


def resampling_lines(facts: dict | None) -> list[str]:
    """How the repeats relate (older runs did not record it: nothing is claimed for them)."""
    if not facts:
        return []
    if facts.get("scheme") == "folds":
        k, n = facts["folds"], facts["repeats"]
        whole = n // k
        line = (f"- Resampling: repeated stratified {k}-fold; the {n} repeat(s) are the outer folds of "
                f"{facts['repetitions']} repetition(s) ({whole} complete), so the test parts of one repetition are "
                "disjoint. The training parts overlap: comparisons over seeds use the corrected resampled t-test "
                f"(Nadeau and Bengio 2003, test/train = {_ratios(facts)}).")
        if facts.get("search_pool"):
            line += (" A fixed share of the events is kept for once-per-dataset searches and feature rankings "
                     "and is never a test event.")
    else:
        line = ("- Resampling: fixed test sets; the seeds vary the train/validation split and the models' "
                "randomness only, so spreads over seeds leave out the test sets' sampling noise.")
    scopes = facts.get("search_scopes") or {}
    if scopes:
        line += " Searches: " + ", ".join(f"{plain(label)} {'nested in each fold' if s == 'fold' else 'once per dataset'}"
                                         for label, s in scopes.items()) + "."
    return [line]


def split_table(info: dict) -> str:
    classes = info["class_names"]
    headers = ["split", "events"] + [f"n({c})" for c in classes]
    weighted = any(f"weight_{c}" in e for e in info["splits"].values() for c in classes)
    if weighted:
        headers += [f"Σw({c})" for c in classes]
    rows = []
    for name, e in info["splits"].items():
        row = [name, e.get("events", MISSING)] + [e.get(f"n_{c}", "") for c in classes]
        if weighted:
            row += [MISSING if e.get(f"weight_{c}") is None else f"{e[f'weight_{c}']:.6g}" for c in classes]
        rows.append(row)
    return table(headers, rows)


FLAG = " †"


def marked(text: str, flag: bool) -> Markup:
    """A figure's cell (text the code formatted), marked when it rests on too few events to mean anything."""
    return Markup(text + FLAG if flag else text)


def flag_note(ctx: SectionContext, any_flag: bool) -> list[str]:
    return [ctx.data.metric.text.reliability_note] if any_flag and ctx.data.metric.text.reliability_note else []


def results_section(ctx: SectionContext) -> str:
    main = ctx.data.main
    if main is None:
        return "_No results recorded for this dataset._"
    headers = ["model", "seeds", *(c.title for c in main.columns), "train s", "predict s / 1k"]
    rows = [[row.label, row.seeds,
             *("blinded" if cell.values is None else
               marked(fmt_mean_std(cell.values, cell.column.digits, cell.column.percent), cell.flagged)
               for cell in row.cells),
             seconds(row.train_s), seconds(row.predict_per_1k_s)] for row in main.rows]
    any_flag = any(cell.flagged for row in main.rows for cell in row.cells)
    return "\n\n".join(["### Results", main.note, table(headers, rows), *flag_note(ctx, any_flag)])


def selection_section(ctx: SectionContext) -> str:
    rows = ctx.data.selection
    if not rows:
        return ""
    titles = [c.column.title for c in rows[0].cells]
    body = [[row.label, row.split, *(marked(fmt_mean_std(c.values, c.column.digits), row.flagged and i == 1)
                                     for i, c in enumerate(row.cells))] for row in rows]
    return "\n".join([
        "### What the cut selects", "",
        "At the cut chosen on validation: raw numbers of selected signal and background events and their "
        "weights (renormalised to the full luminosity of each split), mean ± std over seeds. The AMS of a "
        "selection resting on a handful of background events says little.", "",
        table(["model", "split", *titles], body),
        *(["", *flag_note(ctx, True)] if any(row.flagged for row in rows) else []),
    ])


def supertml_section(ctx: SectionContext) -> str:
    data = ctx.data
    if not data.supertml:
        return ""
    column = data.headline
    rows = [[row.label, *row.settings, marked(fmt_mean_std(row.values, column.digits, column.percent), row.flagged)]
            for row in data.supertml]
    return "\n".join([
        "### SuperTML models", "",
        "Encoder, image size, backbone and the weights actually used. Pretrained and randomly "
        "initialised backbones appear side by side when the suite lists both (the CNN weight control).", "",
        table(["model", "encoder", "layout", "image", "backbone", "weights", "training", "precision",
               column.title], rows),
        *(["", *flag_note(ctx, True)] if any(row.flagged for row in data.supertml) else []),
    ])


def chance_cell(ctx: SectionContext, chance: Sequence) -> str:
    fmt = ctx.data.metric.fmt
    texts = dict.fromkeys(f"{fmt(c.mean)} [{fmt(c.low)}, {fmt(c.high)}]" for c in chance if fmt(c.mean) != MISSING)
    return Markup("; ".join(texts) or MISSING)


def controls_section(ctx: SectionContext) -> str:
    control, metric = ctx.data.control, ctx.data.metric
    if control is None:
        return ""
    digits, figure = metric.fmt_digits, ctx.data.headline.title
    rows = [[row.label, marked(fmt_mean_std(row.real, digits, metric.percent), row.real_flagged),
             marked(fmt_mean_std(row.shuffled, digits, metric.percent), row.shuffled_flagged),
             chance_cell(ctx, row.chance), Markup(row.verdict)]
            for row in control.rows]
    events = "" if control.n_events is None else f" ({control.n_events} events)"
    note = f"{metric.text.control_note} Scored on test split {code(control.split)}{events}."
    head = ["model", f"real {figure}", f"shuffled {figure}", Markup(metric.text.chance_title), "consistent with chance?"]
    any_flag = any(row.real_flagged or row.shuffled_flagged for row in control.rows)
    return "\n".join(["### Shuffled-label control", "", note, "", table(head, rows),
                      *(["", *flag_note(ctx, True)] if any_flag else [])])


def _params(params: dict) -> str:
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())


def tuning_section(ctx: SectionContext) -> str:
    if not ctx.data.tuning:
        return ""
    rows = [[row.name, row.trials, row.pruned, row.failed, f"{row.best_value:.4f}", _params(row.best_params),
             seconds([row.search_s])] for row in ctx.data.tuning]
    nested = any(row.seed is not None for row in ctx.data.tuning)
    once = any(row.seed is None for row in ctx.data.tuning)
    retrained = " ".join(
        ([("A nested search's best parameters were retrained on its own seed's training part")] if nested else [])
        + (["A once-per-dataset search's best parameters were retrained with every seed"] if once else []))
    return "\n".join([
        "### Hyper-parameter search (Optuna)", "",
        f"Objective: {ctx.data.metric.text.objective_title}. {plain(' '.join(ctx.data.info.get('search') or []))} "
        f"No search ever sees a test part it is scored on. {retrained}, then evaluated once on the test splits.", "",
        table(["model", "complete trials", "pruned", "failed", "best validation score", "best parameters",
               "search s"], rows),
        *_ensembles(ctx.data.tuning),
    ])


def _score(value) -> str:
    return MISSING if value is None else f"{float(value):.4f}"


def _ensembles(tuning) -> list[str]:
    """The tuned+ensemble entries' greedy selections (Caruana et al. 2004), one row a search."""
    rows = [[row.name, e.get("candidates", "?"), e.get("rounds", "?"),
             Markup(", ".join(f"#{m.get('trial')} x {float(m['weight']):.3g}" for m in e.get("members") or [])),
             _score(e.get("val_score")), _score(e.get("best_single"))]
            for row in tuning if (e := row.ensemble) is not None]
    if not rows:
        return []
    return ["", "Tuned+ensemble entries: greedy ensemble selection with replacement over each search's complete "
                "trials, on their validation predictions (the best prefix of the rounds; a member's weight is its "
                "share of the picks); each member refitted as the tuned model, the ensemble predicting their "
                "weighted mean.", "",
            table(["search", "candidates", "rounds kept", "members (trial x weight)", "ensemble validation score",
                   "best single"], rows)]


def verdict_text(c: dict, fmt) -> Markup:
    """The paired comparison's verdict in words: different, equivalent within ±margin, or inconclusive."""
    margin = c.get("margin")
    within = f"±{fmt(margin)}" if margin is not None else ""
    verdict = c["verdict"]
    if verdict == "different":
        return Markup("**different**" + (f" (yet within {within}: too small to matter)" if c.get("equivalent") else ""))
    if verdict == "equivalent":
        return Markup(f"**equivalent** within {within}")
    return Markup("inconclusive" + (f" (neither different nor shown within {within})" if within else ""))


def comparison_cell(ctx: SectionContext, row) -> Markup | str:
    if row.is_reference:
        return "reference"
    c, fmt = row.comparison, ctx.data.metric.fmt
    if c is None:
        return MISSING
    text = (f"{fmt(c['diff'], True)} [{fmt(c['ci_low'], True)}, {fmt(c['ci_high'], True)}], "
            f"{p_value(c['p_value'])}: {verdict_text(c, fmt)}")
    mdd = c.get("mdd")
    if mdd is None or mdd != mdd:  # NaN: a single resample
        return Markup(text)
    return Markup(text + f"; MDD ±{fmt(mdd)}")


def seeds_cell(test) -> str:
    if test is None:
        return MISSING
    if test.p_value is None:
        return f"too few seeds ({test.seeds})"
    return f"{p_value(test.p_value)} ({test.seeds} seeds)"


def reference_text(st) -> str:
    """Which model the paired comparisons are against, and why that one."""
    if st.reference is None:
        return ("No paired comparison: there is no reference to compare with (one model only, or no model "
                "with a validation score).")
    if st.reference_is_tabular:
        return (f"Paired comparison against the reference, the tabular model with the best **validation** score "
                f"({code(st.reference)})")
    return (f"Paired comparison against the reference, the model with the best **validation** score "
            f"({code(st.reference)}; **not a tabular model**: the run has none)")


def statistics_section(ctx: SectionContext) -> str:
    st, metric = ctx.data.statistics, ctx.data.metric
    if st is None or not st.rows:
        return ""
    fmt, what, ref = metric.fmt, metric.text.interval_title, st.reference
    intervals = (f"95% bootstrap intervals of the {what} ({st.n_boot} resamples of the test events, weights kept "
                 f"with their events{metric.text.interval_note}; first seed).")
    if ref is None:
        rows = [[row.label, row.split, marked(f"{fmt(row.value)} [{fmt(row.low)}, {fmt(row.high)}]", row.flagged)]
                for row in st.rows]
        return "\n".join(["### Statistics", "", f"{intervals} {reference_text(st)}", "",
                          table(["model", "test split", Markup(f"{what} [95% CI]")], rows, ["l", "l", "r"]),
                          *(["", *flag_note(ctx, True)] if any(row.flagged for row in st.rows) else [])])
    rows = [[row.label, row.split, marked(f"{fmt(row.value)} [{fmt(row.low)}, {fmt(row.high)}]", row.flagged),
             comparison_cell(ctx, row), seeds_cell(row.over_seeds)]
            for row in st.rows]
    seed_test = st.seed_test or "paired t-test over seeds"
    why = (" (the seeds resample one table, so their training sets overlap and the plain paired t-test "
           "would be too confident)" if "corrected" in seed_test else "")
    return "\n".join([
        "### Statistics", "",
        f"{intervals} {reference_text(st)}: "
        "paired bootstrap of the difference on the same test events (first seed), and a "
        f"{seed_test}{why} where there are at least {MIN_SEEDS} seeds (fewer give no usable test). "
        f"Verdict, from the paired bootstrap: **different** when its 95% interval excludes zero; **equivalent** "
        f"when two one-sided tests at 5% place the difference within ±{fmt(metric.margin)} (the metric's margin of "
        "practical relevance, `metric_options = { margin = ... }`; its 90% interval lies inside the margin); "
        "**inconclusive** otherwise: not shown different, but not shown equivalent either, so it says nothing "
        "about whether the models match. MDD: the smallest difference this test data detects with 80% power, "
        "context for how much it can resolve. A tuned model's validation score is optimistic (its parameters "
        "were chosen on that split), which can favour it as the reference; its test figures are unaffected.", "",
        table(["model", "test split", Markup(f"{what} [95% CI]"), Markup(f"difference vs {plain(ref)} [95% CI]"),
               "over seeds"], rows,
              ["l", "l", "r", "l", "l"]),
        *(["", *flag_note(ctx, True)] if any(row.flagged for row in st.rows) else []),
    ])


def _diff_cell(ctx: SectionContext, c: dict | None) -> Markup | str:
    if c is None:
        return MISSING
    fmt = ctx.data.metric.fmt
    mark = "**" if c["significant"] else ""
    return Markup(f"{mark}{fmt(c['diff'], True)}{mark} [{fmt(c['ci_low'], True)}, {fmt(c['ci_high'], True)}]")


def _rung_parameters(row) -> str:
    count = MISSING if row.parameters is None else f"{row.parameters:,}"
    return Markup(f"{count} ({plain(row.inputs)})") if row.inputs else count


def ladder_section(ctx: SectionContext) -> str:
    ladder, metric = ctx.data.ladder, ctx.data.metric
    if ladder is None:
        return ""
    split = ladder.tests[-1]
    with_paper = any(row.paper is not None for row in ladder.rows)
    rows = []
    for row in ladder.rows:
        paper = row.paper
        cells = [row.label, _rung_parameters(row), row.precision or MISSING,
                 *(marked(fmt_mean_std(row.values[t], metric.digits), row.flagged[t]) for t in ladder.tests),
                 _diff_cell(ctx, row.vs_previous[split]), _diff_cell(ctx, row.vs_baseline[split]),
                 seconds(row.train_s), MISSING if row.time_ratio is None else f"{row.time_ratio:.1f}x",
                 seconds(row.val_s), seconds(row.test_s)]
        if with_paper:
            cells += [MISSING if paper is None else f"{paper.private:.3f} ± {paper.private_sd:.3f}",
                      MISSING if paper is None else f"{paper.time_ratio:.1f}x"]
        rows.append(cells)
    sizing = "sized for 2 CPU cores and a sample file" if ladder.sizing == "2-core" else "with the paper's settings"
    head = ["rung", "parameters (categorical inputs)", "precision", *(f"{metric.text.title} {t}" for t in ladder.tests),
            Markup(f"Δ vs previous ({plain(split)}) [95% CI]"), Markup(f"Δ vs baseline ({plain(split)}) [95% CI]"),
            "train s", "train ×baseline",
            "val s", "test s", *(["paper: private AMS", "paper: train ×baseline"] if with_paper else [])]
    paper_note = (" The paper's columns are its published figures for the same experiment: full data (200k "
                  "training events), the mean over its six computing setups; they are context, not a result of "
                  "this run." if with_paper else "")
    return "\n".join([
        "### Technique ladder (Strong 2020)", "",
        f"Each rung of the paper's ladder ({sizing}), mean ± std over seeds. Δ: the paired bootstrap of the "
        f"difference on the first seed's events of the {plain(split)} split (**bold**: the 95% interval excludes zero), "
        "against the rung before and against the baseline (the first rung). Parameters: trainable, all members, "
        "with how each categorical column of the dataset reached the network (embedded, or fed as a standardised "
        "number). Precision: what the fits trained in (bf16-autocast only where a suite asked for it on a GPU). "
        "Times are this run's wall-clock seconds (inference includes test-time augmentation where a rung uses "
        f"it).{paper_note}", "",
        table(head, rows, ["l", "l", "l"] + ["r"] * (len(head) - 3)),
        *(["", *flag_note(ctx, True)] if any(any(r.flagged.values()) for r in ladder.rows) else []),
    ])


TOP_SHOWN = 8  # features per model in the importance table (the plot shows more)


def importance_section(ctx: SectionContext) -> str:
    data = ctx.data
    ranked = {label: rec.importance for label, rec in data.first_seed.items() if isinstance(rec.importance, Mapping)}
    selections = data.info.get("selections") or {}
    if not ranked and not selections:
        return ""
    lines = ["### Feature importance", ""]
    if ranked:
        lines += [f"Permutation importance on the validation split (first seed; never a test split): how much "
                  f"{data.metric.text.objective_title} drops when one feature is shuffled across the validation "
                  f"events, mean ± std over repeats; the {TOP_SHOWN} largest per model.", ""]
        rows = []
        for label, r in ranked.items():
            order = sorted(range(len(r["features"])), key=lambda i: -r["mean"][i])[:TOP_SHOWN]
            rows.append([label, f"{r['baseline']:.4g}",
                         "; ".join(f"{r['features'][i]} {r['mean'][i]:+.3g}±{r['std'][i]:.2g}" for i in order)])
        lines += [table(["model", "validation objective", "largest drops"], rows, ["l", "r", "l"]), ""]
    for label, sel in selections.items():
        lines.append(f"- {code(label)} trains on its top {plain(sel['top'])} features by the permutation importance "
                     f"of {code(sel['by'])} on the search splits (never a test event of any seed): "
                     + plain(", ".join(map(str, sel["features"]))) + ".")
    return "\n".join(lines).rstrip()


def audit_section(ctx: SectionContext) -> str:
    audit, metric = ctx.data.audit, ctx.data.metric
    if audit is None:
        return ""
    body = table(["model", "seeds", *audit.columns],
                 [[row.label, row.seeds, *(fmt_mean_std(row.cells.get(c, ()), metric.digits, metric.percent)
                                           for c in audit.columns)] for row in audit.rows])
    legend = "\n".join(f"- **{item.column}** ({item.label}): {item.explanation}" for item in audit.legend)
    note = metric.text.audit_note + (metric.text.audit_blind_note if ctx.run.blind else "")
    return "\n\n".join([f"### {audit.title}", note, body, legend])


def _images(row) -> str:
    parts = ([f"infer {row.infer_images_s:,.0f}"] if row.infer_images_s is not None else []) + \
            ([f"train {row.train_images_s:,.0f}"] if row.train_images_s is not None else [])
    return "; ".join(parts) or MISSING


def timing_section(ctx: SectionContext) -> str:
    if not ctx.data.timing:
        return ""
    rows = [[row.label, row.device, row.precision, row.batch, row.threads, seconds(row.train_s),
             times(row.train_rel), seconds(row.val_predict_s),
             seconds(row.predict_s), seconds(row.predict_per_1k_s),
             times(row.infer_rel), _images(row)]
            for row in ctx.data.timing]
    return "\n".join([
        "### Timing", "",
        "Wall-clock seconds, mean over seeds. Inference is timed after a warm-up batch and ends when "
        "probabilities are back in host memory (so GPU work is complete); relative columns are against "
        "the fastest model. Images/s for SuperTML models include encoding.", "",
        table(["model", "device", "precision", "batch", "threads", "train s", "train rel.", "val predict s",
               "test predict s", "per 1k s", "infer rel.", "images/s"], rows),
    ])


def plots_section(ctx: SectionContext) -> str:
    """Markdown embedding the dataset's plots; empty string when there are none."""
    if not ctx.plots:
        return ""
    lines = ["### Plots", ""]
    for plot in ctx.plots:
        lines += [image(plot.caption, plot.path), "", f"*{plain(plot.caption)}*", ""]
    return "\n".join(lines).rstrip() + "\n"


SECTIONS: tuple[Section, ...] = (
    Section("dataset", dataset_section, needs_records=False),
    Section("results", results_section, needs_records=False),
    Section("selection", selection_section),
    Section("supertml", supertml_section),
    Section("controls", controls_section),
    Section("tuning", tuning_section),
    Section("statistics", statistics_section),
    Section("ladder", ladder_section),
    Section("importance", importance_section),
    Section("audit", audit_section),
    Section("timing", timing_section),
    Section("plots", plots_section),
)


def render_dataset(ctx: SectionContext) -> list[str]:
    """The dataset's sections in registry order, empty ones left out."""
    parts = [s.render(ctx) for s in SECTIONS if ctx.data.groups or not s.needs_records]
    return [p for p in parts if p]
