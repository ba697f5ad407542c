"""The filesystem policy of the running server, and the message shown when it refuses a path."""

from __future__ import annotations

import os

import streamlit as st

from dashboard import paths
from dashboard.i18n import t


def server_policy() -> paths.FilesystemPolicy:
    """Return the policy for this server's ``server.address`` and ``CLIP_COMPARE_ROOTS``."""
    return paths.filesystem_policy(st.get_option("server.address"), os.environ.get(paths.ROOTS_VARIABLE))


def policy_notice_ui(policy: paths.FilesystemPolicy) -> None:
    """Explain why filesystem inputs are disabled or limited on a server that listens beyond this machine."""
    if policy.disabled:
        st.info(t("paths.disabled", variable=paths.ROOTS_VARIABLE), icon=":material/lock:")
    elif policy.restricted:
        st.caption(t("paths.limited", roots=", ".join(str(root) for root in policy.roots)))


def refused_ui(error: paths.PathNotAllowedError) -> None:
    """Show a refused path with the reason, in the chosen language."""
    reason = t(f"paths.reason_{error.kind}", variable=paths.ROOTS_VARIABLE)
    st.error(t("paths.refused", path=error.path, reason=reason))
