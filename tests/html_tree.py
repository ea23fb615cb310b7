"""A page as a browser parses it, for the tests of report.html: its start tags and its text."""
from __future__ import annotations

from html.parser import HTMLParser


class Tree(HTMLParser):
    """Every start tag with its attributes, and the page's text, as a browser would parse them."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def names(self) -> list[str]:
        return [t for t, _ in self.tags]
