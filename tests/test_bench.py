"""The benchmark's code on a tiny model: every method runs, counts and checks come out right.

No timing is asserted here; the speed targets are measured by ``python -m bench.run``.
"""

from __future__ import annotations

import math

import pytest

from bench import report
from bench.fast_mode import measure_fast_mode
from bench.grid import Grid, measure_grid, warm_up
from bench.workload import label_lists, photo_files


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    return photo_files(tmp_path_factory.mktemp("bench-photos"), 8)


def test_label_lists_never_repeat():
    lists = label_lists(10, 5)
    labels = [label for labels in lists for label in labels]
    assert len(lists) == 5
    assert len(set(labels)) == 50


def test_label_lists_reject_too_many():
    with pytest.raises(ValueError, match="only"):
        label_lists(400, 5)


def test_photo_files_are_distinct(photos):
    assert len({path.read_bytes() for path in photos}) == len(photos)


def test_grid_runs_every_method(bin_checkpoint_dir, photos):
    model_id = f"local-dir:{bin_checkpoint_dir}"
    warm_up(model_id, photos)
    result = measure_grid(model_id, Grid(3, 2, per_image=True), photos, repeats=2)

    assert set(result.seconds) == {
        "plain loop", "classify", "repeat, same files", "repeat, loaded images", "label edit",
        "new labels alone", "new labels alone, trimmed", "classify @int8", "load images", "per image",
    }
    assert all(len(values) == 2 for values in result.seconds.values())
    assert result.edit_image_encodes == [0, 0]
    assert result.edit_prompt_encodes == [2, 2]
    assert result.max_difference_vs_plain < 1e-5
    assert result.max_difference_per_image < 1e-5
    assert not math.isnan(result.max_difference_int8)


def test_report_renders_measurements(bin_checkpoint_dir, photos, tmp_path):
    model_id = f"local-dir:{bin_checkpoint_dir}"
    measurements = report.Measurements(command="python -m bench.run --test", load_before=(1.0, 1.0, 1.0))
    measurements.grids["tiny"] = [measure_grid(model_id, Grid(2, 2, per_image=True), photos, repeats=1)]
    measurements.throughput["tiny"] = measure_fast_mode(model_id, photos, repeats=1)

    text = report.render(measurements, threads=1, primary="tiny")
    path = tmp_path / "RESULTS.md"
    path.write_text("old results\n" + report.NOTES_MARKER + "\nkept note\n")
    report.write(path, text)

    written = path.read_text()
    assert "## Targets" in written
    assert "classify within 1.10× of the plain loop" in written
    assert "@int8 ≥ 1.8×" in written
    assert "old results" not in written
    assert written.endswith(report.NOTES_MARKER + "\nkept note\n")
