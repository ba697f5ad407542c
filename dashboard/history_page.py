"""The History page: saved runs listed, reopened as saved, compared, exported, imported and deleted.

Runs live in core's run database (``CLIP_COMPARE_DB``, else the user data folder).
A file at that path that is not a CLIP Compare database is reported and never
written to, by ``core.store``. ``dashboard/app.py`` runs this file as a page of
``st.navigation``.
"""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from dashboard import access, engine, evaluation_views, fast_mode, runs, state, summary
from dashboard.i18n import percent, t

# Largest run file accepted for import, in bytes. The server's own upload limit may be lower.
MAX_RUN_FILE_BYTES = 200_000_000
# Probability rows shown when two runs are compared, largest differences first.
PROBABILITY_ROWS = 200


def main() -> None:
    """Draw the History page."""
    st.title(t("history.title"))
    st.caption(t("history.tagline"))
    core = engine.engine_ui()
    store = core.RunStore()

    try:
        listed = store.list_runs()
    except core.StoreError as error:
        st.error(t("history.store_failed", detail=str(error)), icon=":material/database:")
        return
    with st.sidebar:
        import_ui(store)
    runs.message_ui(state.HISTORY_MESSAGE)
    if listed.empty:
        st.info(t("history.empty", path=str(store.path)))
        return

    runs_table_ui(listed, store)
    labels = run_labels(listed)
    st.divider()
    open_run_ui(core, store, labels)
    if len(labels) > 1:
        st.divider()
        compare_ui(core, store, labels)


def run_labels(listed: pd.DataFrame) -> dict[int, str]:
    """Return "#id · name · kind · date" for each run, newest first."""
    return {int(row.id): t("history.run_label", id=row.id, name=row.name or t("history.unnamed"),
                           kind=t(f"history.kind_{row.kind}"), created=row.created_at)
            for row in listed.iloc[::-1].itertuples()}


def runs_table_ui(listed: pd.DataFrame, store) -> None:
    """Draw the list of saved runs with translated columns."""
    st.caption(t("history.database", path=str(store.path), count=len(listed)))
    st.dataframe(pd.DataFrame({
        t("columns.run_id"): listed["id"],
        t("columns.run_name"): listed["name"],
        t("columns.run_kind"): listed["kind"].map(lambda kind: t(f"history.kind_{kind}")),
        t("columns.created"): listed["created_at"],
        t("columns.model"): listed["models"],
        t("columns.phrasing"): listed["phrasings"],
        t("columns.images"): listed["images"],
        t("columns.best_top1"): listed["best_top1_accuracy"],
    }), hide_index=True, key="history_table", column_config={
        t("columns.best_top1"): st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="percent"),
    })


def open_run_ui(core, store, labels: dict[int, str]) -> None:
    """Draw the run choice, its export and delete buttons, and the run exactly as it was saved."""
    st.header(t("history.open_header"))
    run_id = choose_run_ui(t("history.open"), labels, state.HISTORY_RUN, default=0)
    try:
        run = store.load(run_id)
    except core.StoreError as error:
        st.error(t("history.load_failed", detail=str(error)))
        return

    export, delete, _ = st.columns([1, 1, 3])
    export.download_button(t("history.export"), data=lambda: export_bytes(run), mime="application/json",
                           file_name=f"clip-compare-run-{run_id}.json", key="history_export", on_click="ignore",
                           icon=":material/download:", width="stretch")
    delete.button(t("history.delete"), key="history_delete", on_click=_ask_delete, args=(run_id,),
                  icon=":material/delete:", width="stretch")
    confirm_delete_ui(store, run_id, labels[run_id])
    saved_run_ui(run)


def choose_run_ui(label: str, labels: dict[int, str], key: str, default: int, column=st) -> int:
    """Draw a run select box; a remembered run that is gone falls back to the ``default``-th newest."""
    ids = list(labels)
    if st.session_state.get(key) not in ids:
        st.session_state[key] = ids[min(default, len(ids) - 1)]
    return column.selectbox(label, ids, key=key, format_func=labels.get)


def export_bytes(run) -> bytes:
    """Return the run as the JSON run file that ``python -m core runs export`` writes."""
    from core.run_format import run_to_json

    return json.dumps(run_to_json(run), ensure_ascii=False, allow_nan=False).encode("utf-8")


def _ask_delete(run_id: int) -> None:
    st.session_state[state.HISTORY_CONFIRM_DELETE] = run_id


def confirm_delete_ui(store, run_id: int, label: str) -> None:
    """Ask for confirmation when the delete button of this run was pressed."""
    if st.session_state.get(state.HISTORY_CONFIRM_DELETE) != run_id:
        return
    st.warning(t("history.confirm_delete", run=label))
    yes, no, _ = st.columns([1, 1, 3])
    yes.button(t("history.delete_yes"), key="history_delete_yes", type="primary", on_click=_delete,
               args=(store, run_id), width="stretch")
    no.button(t("history.delete_no"), key="history_delete_no", on_click=_cancel_delete, width="stretch")


def _delete(store, run_id: int) -> None:
    from core.errors import StoreError

    st.session_state.pop(state.HISTORY_CONFIRM_DELETE, None)
    try:
        store.delete(run_id)
    except StoreError as error:
        state.set_message(state.HISTORY_MESSAGE, "error", "history.delete_failed", detail=str(error))
        return
    state.set_message(state.HISTORY_MESSAGE, "success", "history.deleted", id=run_id)


def _cancel_delete() -> None:
    st.session_state.pop(state.HISTORY_CONFIRM_DELETE, None)


def saved_run_ui(run) -> None:
    """Draw a saved run's settings, provenance and results as they were saved."""
    st.caption(t("history.run_facts", kind=t(f"history.kind_{run.kind}"), created=run.created_at,
                 models=", ".join(run.models), phrasings=", ".join(run.phrasing_names)))
    with st.expander(t("history.settings"), icon=":material/tune:"):
        st.json(run.settings, expanded=1)
    with st.expander(t("history.provenance"), icon=":material/fingerprint:"):
        st.json(run.provenance, expanded=1)
    if run.kind == "evaluation":
        evaluation_views.evaluation_ui(run.evaluation(), "history", access.server_policy())
    else:
        comparison_ui(run)


def comparison_ui(run) -> None:
    """Draw a saved comparison: its problems, the top label of each image and the full table."""
    for problem in run.errors:
        st.error(t(f"errors.{problem['kind']}", name=problem["name"], detail=problem["message"]))
    top = summary.top_labels(run.results)
    st.subheader(t("summary.top_header"))
    st.dataframe(pd.DataFrame({
        t("columns.image"): top["image"],
        t("columns.model"): top["model"],
        t("columns.phrasing"): top["phrasing"],
        t("columns.top_label"): top["label"],
        t("columns.probability"): top["probability"],
    }), hide_index=True, key="history_top", column_config={
        t("columns.probability"): st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="percent"),
    })
    fast_mode.agreement_ui(*fast_mode.agreements(run.results, lambda twin: run.results.iloc[0:0]))
    with st.expander(t("history.all_rows", count=len(run.results))):
        st.dataframe(run.results, hide_index=True, key="history_results")


def compare_ui(core, store, labels: dict[int, str]) -> None:
    """Draw two run choices and their differences: settings, accuracy and probabilities."""
    st.header(t("history.compare_header"))
    first, second = st.columns(2)
    id_b = choose_run_ui(t("history.run_b"), labels, state.HISTORY_B, default=0, column=second)
    id_a = choose_run_ui(t("history.run_a"), labels, state.HISTORY_A, default=1, column=first)
    if id_a == id_b:
        st.info(t("history.same_run"))
        return
    try:
        comparison = core.compare_runs(store.load(id_a), store.load(id_b))
    except core.StoreError as error:
        st.error(t("history.load_failed", detail=str(error)))
        return

    st.subheader(t("history.settings_differences"))
    if comparison.settings:
        st.caption(t("history.core_english"))
        st.markdown("\n".join(f"- {sentence}" for sentence in comparison.settings))
    else:
        st.success(t("history.same_settings"))
    metric_differences_ui(comparison.metrics)
    probability_differences_ui(comparison.probabilities)


def metric_differences_ui(metrics: pd.DataFrame) -> None:
    """Draw accuracy in run A, in run B and the difference B − A, per model × phrasing set."""
    st.subheader(t("history.metric_differences"))
    if metrics.empty:
        st.info(t("history.no_metrics"))
        return
    st.dataframe(pd.DataFrame({
        t("columns.model"): metrics["model"],
        t("columns.phrasing"): metrics["phrasing"],
        t("columns.top1_a"): metrics["top1_accuracy_a"],
        t("columns.top1_b"): metrics["top1_accuracy_b"],
        t("columns.top1_difference"): metrics["top1_accuracy_difference"],
        t("columns.recall_difference"): metrics["mean_class_recall_difference"],
    }), hide_index=True, key="history_metric_differences", column_config={
        column: st.column_config.NumberColumn(format="percent")
        for column in (t("columns.top1_a"), t("columns.top1_b"), t("columns.top1_difference"),
                       t("columns.recall_difference"))
    })


def probability_differences_ui(probabilities: pd.DataFrame) -> None:
    """Draw the largest probability differences between the two runs, row by row."""
    st.subheader(t("history.probability_differences"))
    shared = probabilities.dropna(subset=["difference"])
    if shared.empty:
        st.info(t("history.no_shared_rows"))
        return
    largest = shared.reindex(shared["difference"].abs().sort_values(ascending=False, kind="stable").index)
    largest = largest.head(PROBABILITY_ROWS)
    st.caption(t("history.probability_hint", shown=len(largest), total=len(shared),
                 max=percent(float(shared["difference"].abs().max()), digits=2)))
    st.dataframe(pd.DataFrame({
        t("columns.image"): largest["image"],
        t("columns.model"): largest["model"],
        t("columns.phrasing"): largest["phrasing"],
        t("columns.label"): largest["label"],
        t("columns.probability_a"): largest["probability_a"],
        t("columns.probability_b"): largest["probability_b"],
        t("columns.difference"): largest["difference"],
        t("columns.same_image"): largest["same_image"].map(lambda same: "—" if pd.isna(same) else
                                                           t("summary.yes") if same else t("summary.no")),
    }), hide_index=True, key="history_probability_differences", column_config={
        column: st.column_config.NumberColumn(format="percent")
        for column in (t("columns.probability_a"), t("columns.probability_b"), t("columns.difference"))
    })


def import_ui(store) -> None:
    """Draw the run file upload; a valid file is saved as a new run."""
    st.header(t("history.import_header"))
    st.file_uploader(t("history.import"), type=["json"], key=state.HISTORY_IMPORT, on_change=_import_run,
                     args=(store,), help=t("history.import_help"))


def _import_run(store) -> None:
    from core.errors import StoreError
    from core.run_format import run_from_json

    upload = st.session_state.get(state.HISTORY_IMPORT)
    if upload is None:
        return
    data = upload.getvalue()
    try:
        if len(data) > MAX_RUN_FILE_BYTES:
            raise StoreError(f"the file has {len(data):,} bytes, over the limit of {MAX_RUN_FILE_BYTES:,}")
        run_id = store.save(run_from_json(json.loads(data.decode("utf-8")), upload.name))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        state.set_message(state.HISTORY_MESSAGE, "error", "history.import_failed", name=upload.name,
                          detail=f"not a UTF-8 JSON file ({error})")
        return
    except StoreError as error:
        state.set_message(state.HISTORY_MESSAGE, "error", "history.import_failed", name=upload.name,
                          detail=str(error))
        return
    state.set_message(state.HISTORY_MESSAGE, "success", "history.imported", name=upload.name, id=run_id)


if __name__ == "__main__":
    main()
