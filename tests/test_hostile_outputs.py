"""Outputs that are whole or absent: a full disk (or an interrupt) in the middle of a command
that writes a set of files leaves the output as it was, with one line on stderr."""
from __future__ import annotations

import errno
from pathlib import Path

import pytest

import encoders.examples as examples
from benchmarks.cli import main
from benchmarks.core import files

pytestmark = pytest.mark.sklearn


def _disk_full_after(monkeypatch, module, n_writes: int) -> None:
    """The ``atomic_write`` of ``module`` succeeds ``n_writes`` times, then the disk is full."""
    real, done = module.atomic_write, []

    def write(path, fn):
        if len(done) >= n_writes:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        done.append(path)
        return real(path, fn)

    monkeypatch.setattr(module, "atomic_write", write)


def _tree(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()} if d.exists() else {}


@pytest.mark.parametrize("kind, args, module, writes, existing", [
    ("examples into a new directory", ["--encoder", "pixels", "--n", "6"], examples, 3, False),
    ("examples into an existing directory", ["--encoder", "pixels", "--n", "6"], examples, 3, True),
    ("the gallery of every encoder, at its last file", ["--encoder", "all", "--n", "2", "--size", "32"],
     "encode_command", None, False),
])
def test_encode_on_a_full_disk_leaves_the_output_as_it_was(kind, args, module, writes, existing, tmp_path,
                                                           monkeypatch, capsys):
    import benchmarks.encode_command as encode_command

    out = tmp_path / "out"
    if existing:
        out.mkdir()
        (out / "mine.txt").write_text("a file of the user's")
    before = _tree(out)
    if module == "encode_command":  # every example written, then the gallery sheet does not fit
        _disk_full_after(monkeypatch, encode_command, 0)
    else:
        _disk_full_after(monkeypatch, module, writes)
    assert main(["encode", "--dataset", "iris", *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: No space left on device") and len(err.splitlines()) == 1, err
    assert _tree(out) == before and out.exists() == existing
    assert [p.name for p in tmp_path.iterdir()] == (["out"] if existing else []), "a staging directory was left"


def test_encode_publishes_every_file_into_an_existing_directory(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("kept")
    assert main(["encode", "--dataset", "iris", "--encoder", "pixels", "--n", "4", "--out", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert "mine.txt" in names and "contact_sheet.png" in names and len(names) == 1 + 4 + 1
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_a_staged_directory_is_removed_on_an_interrupt(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        with files.staged_directory(out) as stage:
            (stage / "a.png").write_bytes(b"x")
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
