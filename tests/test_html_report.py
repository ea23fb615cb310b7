"""report.html (reports/html.py): the converter on our Markdown subset, hostile text kept
inert, images embedded only from inside the run, and ``report`` writing the page beside
report.md with every table and every plot of it."""
from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from benchmarks.cli import main
from reports.escape import code, image, link, plain
from reports.html import markdown_to_html, relative_target, report_page, run_images
from reports.html_assets import SCRIPT, STYLE
from reports.tables import table
from html_tree import Tree

pytestmark = pytest.mark.sklearn

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
RF = ["--models", "random-forest", "--seeds", "1", "--quiet"]


def _images(files: dict[str, bytes]):
    return lambda rel: files.get(rel)


SAMPLE = "\n".join([
    "# Report: suite `tiny`",
    "",
    "- command: `python -m benchmarks run`",
    "- started: today",
    "",
    "## Results",
    "",
    "Accuracy; **different** and *not shown different* (`tune_s`), see [the data](results.json).",
    "",
    table(["model", "accuracy", "train s"], [["a\\|b", "95.8%", "1,234"], ["c", "3.12 ± 0.5", "–"]]),
    "",
    "> **Blind mode**: hidden.",
    ">",
    "> second paragraph",
    "",
    "![Critical difference](plots/cd.png)",
    "",
    "*Critical difference*",
])


def test_the_subset_becomes_html():
    body = markdown_to_html(SAMPLE, _images({"plots/cd.png": PNG}))
    tree = Tree(body)
    assert tree.names().count("table") == 1 and tree.names().count("tr") == 3
    assert '<h1 id="report-suite-tiny">Report: suite <code>tiny</code></h1>' in body
    assert "<li>command: <code>python -m benchmarks run</code></li>" in body
    assert "<strong>different</strong>" in body and "<em>not shown different</em>" in body
    assert '<a href="results.json">the data</a>' in body
    assert '<th scope="col" class="num">accuracy</th>' in body  # the alignment row's ---: is kept
    assert "<td>a\\|b</td>" in body  # the cell held an escaped backslash and an escaped pipe
    assert "<td class=\"num\">3.12 ± 0.5</td>" in body
    assert body.count("<blockquote>") == 1 and body.count("<p>") == 5
    src = dict(tree.tags)["img"]["src"]
    assert src == "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert dict(tree.tags)["img"]["alt"] == "Critical difference"


def test_escapes_resolve_to_the_text_they_stand_for():
    text = "a <b> & c | `d` *e* _f_ [g](h) # $x$ \\ n_estimators"
    body = markdown_to_html(plain(text))
    assert "".join(Tree(body).text).strip() == text
    assert set(Tree(body).names()) == {"p"}


HOSTILE = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "[x](javascript:alert(1))",
           "![x](data:image/png;base64,AAAA)", "a | b\n# heading", "`<b>`", '"><svg onload=alert(1)>',
           "</td></tr></table><script>x</script>", "\u2028> quote", "&lt;script&gt;"]


@pytest.mark.parametrize("text", HOSTILE)
def test_stored_text_stays_inert(text):
    md = "\n".join([f"# Report {plain(text)}", f"- note: {code(text)}", "",
                    table(["model", "score"], [[text, "1"]]), "", plain(text)])
    body = markdown_to_html(md)
    tree = Tree(body)
    assert set(tree.names()) <= {"h1", "ul", "li", "code", "div", "table", "thead", "tr", "th", "tbody", "td", "p"}
    assert all(not k.startswith("on") for _, attrs in tree.tags for k in attrs)
    assert tree.names().count("tr") == 2 and tree.names().count("td") == 2  # the table kept its shape


@pytest.mark.parametrize("url", ["javascript:alert(1)", "JAVASCRIPT:alert(1)", "data:text/html,x", "/etc/passwd",
                                 "../other/results.json", "plots/../../x", "//evil.example/x", "file:///etc/passwd",
                                 "vbscript:x"])
def test_links_and_images_outside_the_run_are_dropped(url):
    md = f"[label]({url}) and ![alt]({url})"
    body = markdown_to_html(md, lambda rel: PNG)
    assert "<a " not in body and "<img" not in body
    assert "label" in body and "[plot not embedded: alt]" in body


def test_http_links_stay_and_relative_targets_are_checked():
    assert '<a href="https://doi.org/10.1/x">paper</a>' in markdown_to_html("[paper](https://doi.org/10.1/x)")
    assert relative_target(link("plots/a b.png")) == "plots/a b.png"
    assert relative_target("plots/%2e%2e/%2e%2e/x") is None
    assert relative_target("plots/x.png?y") is None


def test_only_image_bytes_inside_the_run_are_embedded(tmp_path):
    run = tmp_path / "run"
    (run / "plots").mkdir(parents=True)
    (run / "plots" / "ok.png").write_bytes(PNG)
    (run / "plots" / "fake.png").write_bytes(b"<svg onload=alert(1)>")
    (tmp_path / "secret.png").write_bytes(PNG)
    (run / "plots" / "link.png").symlink_to(tmp_path / "secret.png")
    read = run_images(run)
    assert read("plots/ok.png") == PNG
    assert read("plots/link.png") is None and read("../secret.png") is None and read("plots") is None
    body = markdown_to_html("\n\n".join(image(n, f"plots/{n}.png") for n in ["ok", "fake", "link", "none"]), read)
    assert body.count("<img") == 1 and body.count("data:image/png;base64,") == 1
    assert body.count("plot not embedded") == 3


def test_the_page_admits_only_its_own_script_and_style():
    page = report_page(SAMPLE)
    csp = next(attrs["content"] for tag, attrs in Tree(page).tags if attrs.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in csp and "img-src data:" in csp and "unsafe" not in csp
    assert page.count("<script>") == 1 and f"<script>{SCRIPT}</script>" in page and f"<style>{STYLE}</style>" in page
    assert '<meta name="viewport"' in page and "<title>Report: suite tiny</title>" in page


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "iris"
    assert main(["run", "--suite", "iris", *RF, "--out", str(out)]) == 0
    return out


def test_report_writes_the_page_with_every_table_and_plot(iris_run, capsys):
    (iris_run / "report.html").unlink()
    assert main(["report", str(iris_run)]) == 0
    assert "report.html" in capsys.readouterr().out
    md = (iris_run / "report.md").read_text()
    page = (iris_run / "report.html").read_text()
    tree = Tree(page)
    aligns = [ln for ln in md.splitlines() if re.fullmatch(r"\|( :?---:? \|)+", ln)]
    assert aligns and tree.names().count("table") == len(aligns)
    plots = re.findall(r"!\[[^\]]*\]\((plots/[^)]+\.png)\)", md)
    imgs = [attrs["src"] for tag, attrs in tree.tags if tag == "img"]
    assert plots and len(imgs) == len(plots)
    assert [base64.b64decode(s.split(",", 1)[1]) for s in imgs] == [(iris_run / p).read_bytes() for p in plots]
    for heading in re.findall(r"^#+ (.*)$", md, flags=re.M):
        assert re.sub(r"[`\\]", "", heading) in page


def test_no_html_writes_the_markdown_only_and_removes_a_stale_page(iris_run):
    assert (iris_run / "report.html").is_file()
    assert main(["report", str(iris_run), "--no-html"]) == 0
    assert not (iris_run / "report.html").exists() and (iris_run / "report.md").exists()
    assert main(["report", str(iris_run)]) == 0 and (iris_run / "report.html").is_file()


def test_compare_writes_its_page_beside_its_markdown(iris_run, tmp_path, capsys):
    other = tmp_path / "other"
    assert main(["run", "--suite", "iris", *RF, "--out", str(other)]) == 0
    assert main(["compare", str(iris_run), str(other), "--out", str(tmp_path / "cmp.md")]) == 0
    assert "cmp.html" in capsys.readouterr().out
    md, page = (tmp_path / "cmp.md").read_text(), (tmp_path / "cmp.html").read_text()
    aligns = [ln for ln in md.splitlines() if re.fullmatch(r"\|( :?---:? \|)+", ln)]
    assert aligns and Tree(page).names().count("table") == len(aligns)
    assert main(["compare", str(iris_run), str(other), "--out", str(tmp_path / "plain.md"), "--no-html"]) == 0
    assert (tmp_path / "plain.md").exists() and not (tmp_path / "plain.html").exists()
    # a Markdown file named .html gets no page: the page would overwrite it
    assert main(["compare", str(iris_run), str(other), "--out", str(tmp_path / "odd.html")]) == 0
    assert (tmp_path / "odd.html").read_text().startswith("#")
