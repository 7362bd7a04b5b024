"""``beatscope analyze DIR --out OUT --ray``: the records as Ray tasks give what the
``--jobs`` process pool gives (outputs, summary.csv, resuming), a corrupt record or
a dying task fails alone, and without Ray the option is one line naming the extra."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install -e '.[ray]'")

from beatscope.cli.batch_ray import MISSING_RAY, run_in_ray  # noqa: E402
from test_batch import analyze, summary_rows  # noqa: E402

DATA = Path(__file__).parent / "data"
GOOD = {"site_a/100": "mitdb_100", "site_b/119": "mitdb_119"}  # archive path -> excerpt


@pytest.fixture(scope="module")
def local_ray():
    """One small local Ray for the module: starting one takes seconds. "local": a new
    instance even where a cluster runs on this machine (``ray start``, RAY_ADDRESS)."""
    import logging

    ray.init(address="local", num_cpus=2, include_dashboard=False,
             logging_level=logging.ERROR, log_to_driver=False)
    yield
    ray.shutdown()


def copy_record(excerpt: str, target: Path) -> Path:
    """A WFDB excerpt saved under another name; its header's path."""
    target.parent.mkdir(parents=True, exist_ok=True)
    header = (DATA / f"{excerpt}.hea").read_text().replace(excerpt, target.name)
    target.with_suffix(".hea").write_text(header)
    target.with_suffix(".dat").write_bytes((DATA / f"{excerpt}.dat").read_bytes())
    return target.with_suffix(".hea")


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    root = tmp_path / "archive"
    for place, excerpt in GOOD.items():
        copy_record(excerpt, root / place)
    return root


def without_timings(json_path: Path) -> dict:
    summary = json.loads(json_path.read_text())
    summary.pop("timings_s")  # wall-clock seconds: the only thing two runs differ in
    return summary


def assert_clean_stderr(err: str) -> None:
    assert "Traceback" not in err
    for line in err.splitlines():
        assert line.startswith("beatscope: "), line


def test_ray_gives_what_the_pool_gives(archive: Path, tmp_path: Path, local_ray,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    # with the classifier: its weights reach the tasks through the object store
    pool, on_ray = tmp_path / "pool", tmp_path / "ray"
    assert analyze(capsys, archive, "--out", pool, "--jobs", 2)[0] == 0
    code, err = analyze(capsys, archive, "--out", on_ray, "--jobs", 2, "--ray")
    assert code == 0
    assert_clean_stderr(err)
    assert err.splitlines()[-1].startswith("beatscope: 2 records in ")

    pool_rows, ray_rows = summary_rows(pool), summary_rows(on_ray)
    assert list(ray_rows) == list(pool_rows) == list(GOOD)  # the archive's order
    for place in GOOD:
        assert float(ray_rows[place].pop("seconds")) > 0
        pool_rows[place].pop("seconds")
        assert ray_rows[place] == pool_rows[place]
        assert ray_rows[place]["status"] == "done"
        assert int(ray_rows[place]["N"]) > 100  # classified, not all Q
        assert (on_ray / f"{place}.beats").read_bytes() == (pool / f"{place}.beats").read_bytes()
        ray_json = without_timings(on_ray / f"{place}.json")
        assert ray_json == without_timings(pool / f"{place}.json")
        assert ray_json["models"]["manifest_sha256"]  # the same weight set, named the same


def test_ray_run_resumes(archive: Path, tmp_path: Path, local_ray,
                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert analyze(capsys, archive, "--out", out, "--ray", "--no-classify")[0] == 0
    stamps = {p: (out / f"{p}.json").stat().st_mtime_ns for p in GOOD}

    code, err = analyze(capsys, archive, "--out", out, "--ray", "--no-classify")
    assert code == 0 and err.splitlines()[-1].endswith(": 0 done, 2 skipped")
    assert {p: r["status"] for p, r in summary_rows(out).items()} == dict.fromkeys(
        GOOD, "skipped")
    assert {p: (out / f"{p}.json").stat().st_mtime_ns for p in GOOD} == stamps

    (out / "site_b/119.beats").unlink()  # an output lost: only that record again
    assert analyze(capsys, archive, "--out", out, "--ray", "--no-classify")[0] == 0
    assert {p: r["status"] for p, r in summary_rows(out).items()} == {
        "site_a/100": "skipped", "site_b/119": "done"}


def test_corrupt_records_fail_alone(archive: Path, tmp_path: Path, local_ray,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    (archive / "site_c").mkdir()
    (archive / "site_c/empty.hea").write_bytes(b"")
    truncated = copy_record("mitdb_119", archive / "site_c/short")
    signal = truncated.with_suffix(".dat")
    signal.write_bytes(signal.read_bytes()[:100])
    out = tmp_path / "out"
    code, err = analyze(capsys, archive, "--out", out, "--jobs", 2, "--ray", "--no-classify")
    assert code == 1
    assert_clean_stderr(err)
    assert err.splitlines()[-1].startswith("beatscope: 2 of 4 records failed (2 done")
    rows = summary_rows(out)
    assert {p: r["status"] for p, r in rows.items()} == {
        **dict.fromkeys(GOOD, "done"), "site_c/empty": "failed", "site_c/short": "failed"}
    assert "empty" in rows["site_c/empty"]["error"]
    assert "truncated" in rows["site_c/short"]["error"]
    for place in ("site_c/empty", "site_c/short"):
        assert "\n" not in rows[place]["error"] and rows[place]["beats"] == ""
        assert not (out / f"{place}.json").exists()


def test_shipped_weights_are_verified_on_arrival() -> None:
    from beatscope.analysis.resume import manifest_sha256
    from beatscope.models import default_weights_dir
    from beatscope.models.weights_io import (
        WeightsError,
        load_weight_set_from_files,
        read_weight_set_files,
    )

    folder = default_weights_dir()
    files = read_weight_set_files(folder)
    weight_set = load_weight_set_from_files(files, folder)
    assert weight_set.manifest_sha256 == manifest_sha256(folder)  # what outputs record
    assert weight_set.folder == folder and set(weight_set.models) == {"resnet", "slap"}

    flipped = bytearray(files["slap.pt"])
    flipped[len(flipped) // 2] ^= 0xFF  # one byte changed in transit
    damaged = {**files, "slap.pt": bytes(flipped)}
    with pytest.raises(WeightsError, match=r"slap\.pt: sha256 mismatch") as err:
        load_weight_set_from_files(damaged, folder)
    assert "\n" not in str(err.value)


def _task(kind: str) -> str:
    if kind == "exit":  # the worker process dies under the task
        os._exit(3)
    if kind == "raise":
        raise ValueError("bad input")
    return kind.upper()


@pytest.fixture
def tasks_by_value():
    """The workers cannot import this test module: its functions travel by value."""
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield
    ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def test_a_task_that_raises_or_dies_fails_alone(local_ray, tasks_by_value) -> None:
    kinds = ["a", "exit", "b", "raise", "c"]
    finished = [f for f in run_in_ray(_task, [(k,) for k in kinds], jobs=2) if f]
    by_index = {f.index: f for f in finished}
    assert sorted(by_index) == list(range(len(kinds)))
    for index, kind in enumerate(kinds):
        f = by_index[index]
        if kind == "exit":
            assert f.result is None and "worker" in f.error and "\n" not in f.error
        elif kind == "raise":
            assert f.result is None and f.error == "ValueError: bad input"
        else:
            assert f.result == kind.upper() and f.error is None


def test_tasks_fit_an_instance_smaller_than_their_threads(
        local_ray, tasks_by_value, monkeypatch: pytest.MonkeyPatch) -> None:
    # 16 torch threads per record on this "machine", and the running instance has 2
    # CPUs: asking Ray for 16 would leave every task waiting for ever
    monkeypatch.setattr("beatscope.cli.batch_ray.os.cpu_count", lambda: 16)
    finished, heartbeats = [], 0
    for f in run_in_ray(_task, [("a",), ("b",)], jobs=1):
        heartbeats += f is None
        assert heartbeats < 60, "the tasks never started"  # closing cancels them
        finished += [f] if f else []
    assert sorted(f.result for f in finished) == ["A", "B"]


def test_records_beyond_the_window_in_flight_all_run(
        local_ray, tasks_by_value, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("beatscope.cli.batch_ray.MIN_IN_FLIGHT", 1)  # window: 2 (2 CPUs)
    kinds = [f"r{i}" for i in range(7)]
    finished = [f for f in run_in_ray(_task, [(k,) for k in kinds], jobs=2) if f]
    assert sorted(f.index for f in finished) == list(range(7))
    assert all(f.result == kinds[f.index].upper() for f in finished)


def test_without_ray_the_option_names_the_extra(archive: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    code, err = analyze(capsys, archive, "--out", tmp_path / "out", "--ray")
    assert code == 1
    assert err == f"beatscope: error: {MISSING_RAY}\n"
    assert "pip install 'beatscope[ray]'" in err
    assert not (tmp_path / "out").exists()  # nothing done before the error


def test_ray_is_imported_only_for_ray(archive: Path, tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from beatscope.cli.main import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        f"main(['analyze', {str(archive / 'site_a')!r}, '--out', {str(tmp_path)!r}, "
        "'--no-classify'])\n"
        "print('ray' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "False"
