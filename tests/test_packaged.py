"""Model files from PyPI packages: assembled once, verified, refused when corrupt."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from homeport.engines import SMALL_MODEL, resolve_model
from homeport.engines.packaged import ModelFileError, assemble


def _parts(tmp_path: Path) -> list[Path]:
    parts = []
    for n, payload in enumerate((b"GGUF" + b"a" * 1000, b"b" * 777)):
        part = tmp_path / f"part{n}.bin"
        part.write_bytes(payload)
        parts.append(part)
    return parts


def test_assemble_verifies_size_and_hash(tmp_path: Path) -> None:
    parts = _parts(tmp_path)
    whole = b"".join(part.read_bytes() for part in parts)
    seen: list[int] = []
    target = assemble(
        parts,
        tmp_path / "out" / "model.gguf",
        size=len(whole),
        sha256=hashlib.sha256(whole).hexdigest(),
        progress=lambda done, total: seen.append(done),
    )
    assert target.read_bytes() == whole
    assert seen[-1] == len(whole)


def test_assemble_refuses_a_mismatch_and_leaves_nothing(tmp_path: Path) -> None:
    parts = _parts(tmp_path)
    target = tmp_path / "model.gguf"
    with pytest.raises(ModelFileError, match="corrupt"):
        assemble(parts, target, size=1777 + 4, sha256="0" * 64)
    assert not target.exists() and not target.with_suffix(".partial").exists()


def test_assemble_names_missing_parts(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="missing"):
        assemble([tmp_path / "absent.bin"], tmp_path / "model.gguf", size=1, sha256="0" * 64)


def test_packaged_small_model_is_found_through_its_package(tmp_path: Path) -> None:
    model = resolve_model(SMALL_MODEL, tmp_path)
    assert model.path.is_file() and model.path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"


def test_a_gguf_path_is_served_under_its_own_name(tmp_path: Path) -> None:
    model = resolve_model(str(resolve_model(SMALL_MODEL, tmp_path).path), tmp_path)
    assert model.name == "SmolLM2-135M-Instruct.Q4_1"
