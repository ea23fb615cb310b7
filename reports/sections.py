"""Report sections beyond the main tables (controls, tuning, audit, statistics, timing, plots)."""
from __future__ import annotations

from pathlib import Path


def extra_sections(results: dict, info: dict, groups: dict, run_dir: Path | None, blind: bool) -> list[str]:
    return []
