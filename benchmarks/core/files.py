"""Atomic file writes: a crash, a kill or a full disk never leaves a half-written file (or,
for a set of files, a half-written directory)."""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable, Iterator


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> Path:
    """Call ``write(fh)`` on a temporary file beside `path`, then rename it into place.

    The rename is atomic on POSIX file systems, so readers see the old file or the new
    one, never a torn one. The file gets the usual permissions (0666 minus the umask),
    like any file the user's programs create; ``mkstemp`` alone would make it 0600.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


@contextlib.contextmanager
def staged_directory(out: str | os.PathLike) -> Iterator[Path]:
    """A directory to write a set of files into that ``out`` receives whole or not at all.

    The files go to a hidden staging directory beside ``out``; on success they are moved into
    ``out`` (created, or an existing directory whose other files are kept; a file of the
    same name is replaced atomically); on any failure (a full disk, Ctrl-C) the staging
    directory is removed and ``out`` is as it was.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        yield stage
        if not out.exists():
            os.rename(stage, out)
            return
        for path in sorted(stage.rglob("*")):
            if path.is_file():
                target = out / path.relative_to(stage)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
