"""The lazy import of ``core``, shared by every page, so that a page draws its header before PyTorch loads."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

import streamlit as st

from dashboard.i18n import t


def engine_ui() -> ModuleType:
    """Import core (and with it PyTorch) once per process, with a spinner the first time.

    Always through ``import_module``: while another session's thread is still running
    the first import, ``sys.modules`` already contains the half-initialised module, and
    only the import system waits for that import to finish.
    """
    if "core" in sys.modules:
        return importlib.import_module("core")
    with st.spinner(t("app.loading_engine")):
        return importlib.import_module("core")
