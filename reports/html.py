"""report.html: the Markdown of report.md turned into one self-contained page.

Not a second renderer of the numbers: the page is the very text report.md holds, converted
by a small converter of exactly the subset our reports emit (headings, paragraphs, ``- ``
lists, ``> `` quotes, pipe tables with their alignment row, ``**strong**``, ``*em*``, code
spans, links, images, and the backslash escapes of :mod:`reports.escape`). No Markdown
library: a general one would also pass raw HTML through, which is the injection this
module must never allow. Every text node is HTML-escaped after its backslash escapes are
resolved; a link or image URL is kept only when it is a relative path inside the run (or,
for a link, http/https); images are embedded as data URIs, read through ``images`` only.
"""
from __future__ import annotations

import base64
import hashlib
import html
import re
from pathlib import Path, PurePosixPath
from typing import Callable, Optional
from urllib.parse import unquote, urlsplit

from .html_assets import SCRIPT, STYLE

Images = Callable[[str], Optional[bytes]]

# The two image formats a plot can be; sniffed from the bytes, never taken from a name.
_MAGIC = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))
MAX_IMAGE_BYTES = 32 * 1024 * 1024  # a plot is kilobytes; a huge file is no plot of ours

_HEADING = re.compile(r"(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_ALIGN_CELL = re.compile(r"\s*:?-{3,}:?\s*")
_PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"


# ---------------------------------------------------------------------------- inline

def _escape(text: str) -> str:
    return html.escape(text, quote=True)


def relative_target(url: str) -> Optional[str]:
    """The run-relative POSIX path a URL names, or None when it names anything else (a
    scheme, a host, an absolute path, a way out through ``..``, a query or fragment)."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or parts.query or parts.fragment:
        return None
    path = unquote(parts.path)
    if not path or path.startswith("/") or "\\" in path or "\x00" in path:
        return None
    pure = PurePosixPath(path)
    if any(p == ".." for p in pure.parts):
        return None
    return pure.as_posix()


def _link_href(url: str) -> Optional[str]:
    if relative_target(url) is not None:
        return url
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def _data_uri(data: Optional[bytes]) -> Optional[str]:
    if not data or len(data) > MAX_IMAGE_BYTES:
        return None
    mime = next((m for magic, m in _MAGIC if data.startswith(magic)), None)
    return None if mime is None else f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


class _Inline:
    """One left-to-right pass over a line of inline Markdown, producing HTML."""

    def __init__(self, text: str, images: Images) -> None:
        self.s, self.images = text, images

    def run(self) -> str:
        out, _ = self._until(0, None)
        return out

    def _until(self, i: int, stop: Optional[str]) -> tuple[str, int]:
        """HTML of s[i:] up to the delimiter ``stop`` (returned index just past it), or to the
        end (index len(s)+1 when ``stop`` never came, so the caller prints it literally)."""
        s, out, text = self.s, [], []

        def flush() -> None:
            if text:
                out.append(_escape("".join(text)))
                text.clear()

        while i < len(s):
            c = s[i]
            if stop is not None and s.startswith(stop, i) and i > 0 and not s[i - 1].isspace():
                flush()
                return "".join(out), i + len(stop)
            if c == "\\" and i + 1 < len(s) and s[i + 1] in _PUNCT:
                text.append(s[i + 1])
                i += 2
            elif c == "`":
                span = self._code(i)
                if span is None:
                    n = len(s) - len(s[i:].lstrip("`"))
                    text.append(s[i:n])
                    i = n
                else:
                    flush()
                    out.append(span[0])
                    i = span[1]
            elif s.startswith("![", i) or c == "[":
                found = self._bracket(i)
                if found is None:
                    text.append(c)
                    i += 1
                else:
                    flush()
                    out.append(found[0])
                    i = found[1]
            elif c == "*":
                delim = "**" if s.startswith("**", i) else "*"
                j = i + len(delim)
                if j < len(s) and not s[j].isspace() and delim != stop:
                    inner, k = self._until(j, delim)
                    if k <= len(s):
                        flush()
                        tag = "strong" if delim == "**" else "em"
                        out.append(f"<{tag}>{inner}</{tag}>")
                        i = k
                        continue
                text.append(delim)
                i = j
            else:
                text.append(c)
                i += 1
        flush()
        return "".join(out), len(s) + (0 if stop is None else 1)

    def _code(self, i: int) -> Optional[tuple[str, int]]:
        s = self.s
        n = len(s[i:]) - len(s[i:].lstrip("`"))
        ticks = "`" * n
        j = i + n
        while True:
            k = s.find(ticks, j)
            if k < 0:
                return None
            end = k + n
            if end < len(s) and s[end] == "`":  # a longer run of backticks does not close it
                j = end + len(s[end:]) - len(s[end:].lstrip("`"))
                continue
            body = s[i + n:k]
            if len(body) > 1 and body.startswith(" ") and body.endswith(" ") and body.strip():
                body = body[1:-1]
            return f"<code>{_escape(body)}</code>", end

    def _label_end(self, i: int) -> Optional[int]:
        """Index of the ``]`` that closes the ``[`` at i (escapes and nesting respected)."""
        s, depth, j = self.s, 0, i
        while j < len(s):
            if s[j] == "\\":
                j += 2
                continue
            if s[j] == "[":
                depth += 1
            elif s[j] == "]":
                depth -= 1
                if depth == 0:
                    return j
            j += 1
        return None

    def _bracket(self, i: int) -> Optional[tuple[str, int]]:
        """``[label](url)`` or ``![alt](url)`` at i; None when it is not one (printed as text)."""
        s = self.s
        is_image = s[i] == "!"
        start = i + 1 if is_image else i
        close = self._label_end(start)
        if close is None or not s.startswith("(", close + 1):
            return None
        end = s.find(")", close + 2)
        if end < 0:
            return None
        url = s[close + 2:end].strip()
        if not url or any(ch.isspace() or ch in "<>\"'" for ch in url):
            return None
        label = _Inline(s[start + 1:close], self.images).run()
        if is_image:
            return self._image(label, url), end + 1
        href = _link_href(url)
        if href is None:  # a link we will not follow: its text only
            return label, end + 1
        return f'<a href="{_escape(href)}">{label}</a>', end + 1

    def _image(self, alt_html: str, url: str) -> str:
        # alt text is the label as text: its markup dropped, its entities kept escaped
        alt = re.sub(r"<[^>]*>", "", alt_html)
        target = relative_target(url)
        src = None if target is None else _data_uri(self.images(target))
        if src is None:
            return f'<span class="missing-image">[plot not embedded: {alt}]</span>'
        return f'<img src="{src}" alt="{alt}" loading="eager">'


def inline_html(text: str, images: Images = lambda _: None) -> str:
    """One line (or paragraph) of inline Markdown as HTML."""
    return _Inline(text, images).run()


# ---------------------------------------------------------------------------- blocks

def _split_row(line: str) -> list[str]:
    """The cells of a pipe-table row: split on every pipe that no backslash escapes."""
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    cells, cell, i = [], [], 0
    while i < len(line):
        if line[i] == "\\" and i + 1 < len(line):
            cell.append(line[i:i + 2])
            i += 2
            continue
        if line[i] == "|":
            cells.append("".join(cell))
            cell = []
        else:
            cell.append(line[i])
        i += 1
    if "".join(cell).strip():
        cells.append("".join(cell))
    return [c.strip() for c in cells]


def _is_align_row(line: str) -> bool:
    cells = _split_row(line)
    return bool(cells) and line.lstrip().startswith("|") and all(_ALIGN_CELL.fullmatch(c) for c in cells)


def _table(lines: list[str], images: Images) -> str:
    head = _split_row(lines[0])
    aligns = ["num" if c.endswith(":") and not c.startswith(":") else "" for c in _split_row(lines[1])]
    width = len(head)
    aligns = (aligns + [""] * width)[:width]

    def cls(j: int) -> str:
        return f' class="{aligns[j]}"' if aligns[j] else ""

    out = ['<div class="table-wrap"><table>', "<thead><tr>"]
    out += [f'<th scope="col"{cls(j)}>{inline_html(c, images)}</th>' for j, c in enumerate(head)]
    out.append("</tr></thead><tbody>")
    for line in lines[2:]:
        cells = (_split_row(line) + [""] * width)[:width]
        out.append("<tr>" + "".join(f"<td{cls(j)}>{inline_html(c, images)}</td>" for j, c in enumerate(cells))
                   + "</tr>")
    out.append("</tbody></table></div>")
    return "\n".join(out)


def _starts_block(lines: list[str], i: int) -> bool:
    line = lines[i]
    return (not line.strip() or bool(_HEADING.fullmatch(line)) or line.startswith(("- ", ">", "```"))
            or (line.lstrip().startswith("|") and i + 1 < len(lines) and _is_align_row(lines[i + 1])))


def _slug(text: str, seen: dict[str, int]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", html.unescape(re.sub(r"<[^>]*>", "", text)).lower()).strip("-") or "section"
    seen[base] = seen.get(base, 0) + 1
    return base if seen[base] == 1 else f"{base}-{seen[base]}"


def _blocks(lines: list[str], images: Images, slugs: dict[str, int]) -> list[str]:
    out, i = [], 0
    while i < len(lines):
        line = lines[i]
        heading = _HEADING.fullmatch(line)
        if not line.strip():
            i += 1
        elif heading:
            level, body = len(heading.group(1)), inline_html(heading.group(2), images)
            out.append(f'<h{level} id="{_slug(body, slugs)}">{body}</h{level}>')
            i += 1
        elif line.startswith("```"):
            j = next((k for k in range(i + 1, len(lines)) if lines[k].startswith("```")), len(lines))
            out.append("<pre><code>" + _escape("\n".join(lines[i + 1:j])) + "</code></pre>")
            i = j + 1
        elif line.startswith(">"):
            j = i
            while j < len(lines) and lines[j].startswith(">"):
                j += 1
            inner = [ln[2:] if ln.startswith("> ") else ln[1:] for ln in lines[i:j]]
            out.append("<blockquote>\n" + "\n".join(_blocks(inner, images, slugs)) + "\n</blockquote>")
            i = j
        elif line.startswith("- "):
            items: list[list[str]] = []
            while i < len(lines) and (lines[i].startswith("- ") or (items and lines[i].strip()
                                                                   and not _starts_block(lines, i))):
                if lines[i].startswith("- "):
                    items.append([lines[i][2:]])
                else:  # a continuation line of the item above
                    items[-1].append(lines[i].strip())
                i += 1
            out.append("<ul>\n" + "\n".join(f"<li>{inline_html(' '.join(it), images)}</li>" for it in items)
                       + "\n</ul>")
        elif line.lstrip().startswith("|") and i + 1 < len(lines) and _is_align_row(lines[i + 1]):
            j = i + 2
            while j < len(lines) and lines[j].lstrip().startswith("|"):
                j += 1
            out.append(_table(lines[i:j], images))
            i = j
        else:
            j = i + 1
            while j < len(lines) and not _starts_block(lines, j):
                j += 1
            out.append("<p>" + inline_html("\n".join(ln.strip() for ln in lines[i:j]), images) + "</p>")
            i = j
    return out


def markdown_to_html(text: str, images: Images = lambda _: None) -> str:
    """The HTML body of a report's Markdown; ``images(path)`` gives the bytes of the
    run-relative image ``path`` to embed, or None (the image is then named, not shown)."""
    return "\n".join(_blocks(text.splitlines(), images, {})) + "\n"


# ---------------------------------------------------------------------------- page

def _csp_hash(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


def report_page(markdown: str, images: Images = lambda _: None) -> str:
    """A whole HTML document of the report: its own style and sorting script inline, plots
    as data URIs. The Content-Security-Policy admits only that script and that style, so even
    markup that slipped through the escaping could run nothing and load nothing."""
    title_line = next((ln for ln in markdown.splitlines() if ln.startswith("# ")), "# Benchmark report")
    title = re.sub(r"<[^>]*>", "", inline_html(title_line[2:]))
    csp = (f"default-src 'none'; img-src data:; style-src {_csp_hash(STYLE)}; script-src {_csp_hash(SCRIPT)}; "
           "base-uri 'none'; form-action 'none'")
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_escape(csp)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{title}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        "<main>",
        markdown_to_html(markdown, images),
        "</main>",
        '<pre id="selftest" hidden></pre>',
        f"<script>{SCRIPT}</script>",
        "</body>",
        "</html>",
        "",
    ])


def run_images(run_dir: Path) -> Images:
    """Reads a run-relative image path from the run directory, and only from inside it:
    a path that resolves elsewhere (through a symlink) or is no file gives None."""
    root = Path(run_dir).resolve()

    def read(rel: str) -> Optional[bytes]:
        try:
            path = (root / rel).resolve()
            if not path.is_relative_to(root) or not path.is_file() or path.stat().st_size > MAX_IMAGE_BYTES:
                return None
            return path.read_bytes()
        except (OSError, ValueError):
            return None

    return read
