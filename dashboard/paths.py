"""The filesystem policy: any path on a local server, paths below root folders on a wider one.

A server that listens on this machine only (``server.address`` 127.0.0.1, localhost
or ::1) serves its own user, who may read any path they could read in a shell. A
server that listens wider serves other people, so labelled folders, CSV files and
``local-dir:`` model folders are limited to the root folders named in
``CLIP_COMPARE_ROOTS`` (separated by ``os.pathsep``). With no root configured, those
inputs are disabled. This module has no Streamlit import, so it is tested alone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

ROOTS_VARIABLE = "CLIP_COMPARE_ROOTS"
LOCAL_ADDRESSES = frozenset({"127.0.0.1", "localhost", "::1"})
LOCAL_DIR_PREFIX = "local-dir:"


class PathNotAllowedError(ValueError):
    """A refused path. ``kind`` is "disabled" (no root configured), "outside" (below no root) or "invalid"."""

    def __init__(self, path: str, kind: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.kind = kind


@dataclass(frozen=True)
class FilesystemPolicy:
    """A filesystem policy: any path (``restricted`` False), or only paths below ``roots``."""

    restricted: bool
    roots: tuple[Path, ...] = ()

    @property
    def disabled(self) -> bool:
        """Tell whether every filesystem input is refused (a wide server with no root folder)."""
        return self.restricted and not self.roots

    def check(self, path: str | os.PathLike) -> Path:
        """Return ``path`` resolved, or raise PathNotAllowedError when the policy refuses it."""
        if not self.restricted:
            return Path(path).expanduser()
        return resolve_within(path, self.roots)


def is_local_address(address: str | None) -> bool:
    """Tell whether a ``server.address`` value listens on this machine only.

    An empty or missing address makes Streamlit listen on every interface, so it is not local.
    """
    return (address or "").strip().strip("[]").lower() in LOCAL_ADDRESSES


def parse_roots(setting: str | None) -> tuple[Path, ...]:
    """Split a ``CLIP_COMPARE_ROOTS`` value into resolved folders, skipping empty entries."""
    entries = [entry.strip() for entry in (setting or "").split(os.pathsep)]
    return tuple(Path(entry).expanduser().resolve() for entry in entries if entry)


def filesystem_policy(address: str | None, roots_setting: str | None) -> FilesystemPolicy:
    """Return the policy for a server listening on ``address`` with ``roots_setting`` as its roots."""
    if is_local_address(address):
        return FilesystemPolicy(restricted=False)
    return FilesystemPolicy(restricted=True, roots=parse_roots(roots_setting))


def resolve_within(path: str | os.PathLike, roots: Sequence[Path]) -> Path:
    """Resolve ``path`` (symbolic links and ``..`` included) and return it if it lies below a root.

    The check runs on the resolved path, so a link inside a root that points outside
    it is refused, and so is ``root/../elsewhere``. Relative paths are resolved
    against the server's working folder. Roots are compared as given, so pass them
    resolved (``parse_roots`` does).
    """
    text = os.fspath(path)
    if not roots:
        raise PathNotAllowedError(text, "disabled", "filesystem inputs are disabled on this server")
    if "\x00" in text:
        raise PathNotAllowedError(text, "invalid", "the path contains a NUL character")
    resolved = Path(text).expanduser().resolve()
    if not any(resolved == root or resolved.is_relative_to(root) for root in roots):
        raise PathNotAllowedError(text, "outside", "the path is outside the allowed root folders")
    return resolved


def local_dir_paths(model_id: str) -> list[str]:
    """Return the folder paths a ``local-dir:`` model id may name, or [] for other ids.

    core reads ``local-dir:/models/clip@int8`` as the folder /models/clip in fast
    mode, so the path without an ``@`` suffix is returned as well as the path as typed.
    """
    if not model_id.startswith(LOCAL_DIR_PREFIX):
        return []
    path = model_id[len(LOCAL_DIR_PREFIX):].strip()
    folder, separator, suffix = path.rpartition("@")
    if separator and "/" not in suffix and folder:
        return [path, folder]
    return [path]
