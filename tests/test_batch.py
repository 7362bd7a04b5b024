"""``beatscope analyze DIR --out OUT --jobs N`` over an archive: records found at any
depth with their folders mirrored, resuming, ``summary.csv``, progress lines in a
log, and failures (a corrupt file, a crashing worker) confined to their record."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
from pathlib import Path

import pytest

from beatscope.analysis.resume import OPTIONS_KEY
from beatscope.cli.analyze_cmd import analyze_one
from beatscope.cli.batch_plan import plan_batch
from beatscope.cli.batch_progress import BatchProgress
from beatscope.cli.batch_summary import COLUMNS
from beatscope.cli.main import main
from beatscope.cli.worker_pool import run_in_workers

DATA = Path(__file__).parent / "data"
RECORDS = {  # archive path (no extension) -> the excerpt copied there
    "site_a/100": "mitdb_100",
    "site_b/2019/100": "mitdb_119",  # same name, another folder: must not collide
    "site_b/2020/icu/201": "mitdb_201_afib",
}
CORRUPT = "site_b/2020/broken"  # an .edf that is not one


def copy_record(excerpt: str, target: Path) -> None:
    """A WFDB excerpt saved under another name (its header names its signal file)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    header = (DATA / f"{excerpt}.hea").read_text().replace(excerpt, target.name)
    target.with_suffix(".hea").write_text(header)
    target.with_suffix(".dat").write_bytes((DATA / f"{excerpt}.dat").read_bytes())


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    root = tmp_path / "archive"
    for place, excerpt in RECORDS.items():
        copy_record(excerpt, root / place)
    (root / f"{CORRUPT}.edf").write_bytes(b"0       not an EDF header" + bytes(300))
    (root / ".hidden").mkdir()  # a hidden folder (.git, .snapshot) is not searched
    copy_record("mitdb_100", root / ".hidden" / "ghost")
    return root


def analyze(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str]:
    code = main(["analyze", *map(str, args)])
    return code, capsys.readouterr().err


def summary_rows(out: Path) -> dict[str, dict[str, str]]:
    """summary.csv's rows by output path (``site_a/100``...)."""
    with open(out / "summary.csv", newline="") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames or ()) == COLUMNS
        rows = list(reader)
    return {row["output"]: row for row in rows}


def statuses(out: Path) -> dict[str, str]:
    return {output: row["status"] for output, row in summary_rows(out).items()}


def assert_clean_stderr(err: str) -> None:
    assert "Traceback" not in err
    for line in err.splitlines():
        assert line.startswith("beatscope: "), line


# --------------------------------------------------------------------------- a full run


def test_archive_is_analysed_recursively_with_mirrored_outputs(
        archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    code, err = analyze(capsys, archive, "--out", out, "--jobs", 2, "--no-classify")
    assert code == 1  # the corrupt file failed
    assert_clean_stderr(err)
    assert err.splitlines()[-1].startswith("beatscope: 1 of 4 records failed (3 done, 0 skipped)")
    errors = [line for line in err.splitlines() if line.startswith("beatscope: error: ")]
    assert len(errors) == 1 and "broken.edf" in errors[0]

    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == sorted(["summary.csv", *(f"{place}.{ext}" for place in RECORDS
                                               for ext in ("json", "beats"))])
    rows = summary_rows(out)
    assert list(rows) == sorted(rows)  # the archive's order, not the workers' order
    assert set(rows) == {*RECORDS, CORRUPT}
    for place in RECORDS:
        row = rows[place]
        summary = json.loads((out / f"{place}.json").read_text())
        assert row["status"] == "done" and row["error"] == ""
        assert row["path"] == str(archive / f"{place}.hea")
        assert float(row["seconds"]) > 0
        assert int(row["beats"]) == summary["beat_count"] > 100
        assert int(row["Q"]) == int(row["beats"])  # --no-classify: every beat is Q
        assert all(row[c] == "0" for c in "NSVF")
        assert summary["record"]["name"] == Path(place).name
        assert summary[OPTIONS_KEY]["classify"] is False
        assert list(summary)[-1] == "beats"  # a rerun's check reads only what precedes it
    # each output is its own record's, not the other 100's
    assert rows["site_a/100"]["beats"] != rows["site_b/2019/100"]["beats"]
    assert float(rows["site_b/2020/icu/201"]["af_burden_percent"]) > 50
    assert float(rows["site_a/100"]["af_burden_percent"]) == 0
    broken = rows[CORRUPT]
    assert broken["status"] == "failed" and "EDF" in broken["error"]
    assert broken["beats"] == "" and broken["af_burden_percent"] == ""


def test_second_run_resumes_and_force_redoes(archive: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    analyze(capsys, archive, "--out", out, "--jobs", 2, "--no-classify")
    first = summary_rows(out)
    stamps = {place: (out / f"{place}.json").stat().st_mtime_ns for place in RECORDS}

    code, err = analyze(capsys, archive, "--out", out, "--jobs", 2, "--no-classify")
    assert code == 1  # the corrupt file is tried again, and fails again
    assert statuses(out) == {**dict.fromkeys(RECORDS, "skipped"), CORRUPT: "failed"}
    assert "(0 done, 3 skipped)" in err.splitlines()[-1]
    assert {p: (out / f"{p}.json").stat().st_mtime_ns for p in RECORDS} == stamps
    again = summary_rows(out)
    for place in RECORDS:  # a skipped record's numbers come from its earlier JSON
        assert again[place]["beats"] == first[place]["beats"]
        assert again[place]["af_burden_percent"] == first[place]["af_burden_percent"]
        assert again[place]["seconds"] == ""

    # An output from another version, or with its .beats lost, is not reused.
    stale = out / "site_a/100.json"
    summary = json.loads(stale.read_text())
    summary["software"]["beatscope"] = "0.0.1"
    stale.write_text(json.dumps(summary))
    (out / "site_b/2019/100.beats").unlink()
    analyze(capsys, archive, "--out", out, "--jobs", 2, "--no-classify")
    assert statuses(out) == {"site_a/100": "done", "site_b/2019/100": "done",
                             "site_b/2020/icu/201": "skipped", CORRUPT: "failed"}

    code, err = analyze(capsys, archive, "--out", out, "--jobs", 2, "--no-classify", "--force")
    assert code == 1
    assert statuses(out) == {**dict.fromkeys(RECORDS, "done"), CORRUPT: "failed"}
    assert all((out / f"{p}.json").stat().st_mtime_ns > stamps[p] for p in RECORDS)


def test_ctrl_c_keeps_what_was_done_listed_and_the_next_run_resumes(
        archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from beatscope.cli import analyze_cmd

    real, calls = analyze_cmd.analyze_one, []

    def interrupted_at_the_second(*args, **kwargs):
        calls.append(args[0])
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(analyze_cmd, "analyze_one", interrupted_at_the_second)
    out = tmp_path / "out"
    code, err = analyze(capsys, archive, "--out", out, "--no-classify")
    assert code == 130
    assert err.splitlines()[-1].startswith("beatscope: interrupted: 1 done, 0 failed")
    assert_clean_stderr(err)
    first = statuses(out)
    assert sorted(first.values()) == ["done"] + ["interrupted"] * (len(RECORDS))
    monkeypatch.setattr(analyze_cmd, "analyze_one", real)
    code, err = analyze(capsys, archive, "--out", out, "--no-classify")
    done_before = next(p for p, status in first.items() if status == "done")
    assert statuses(out)[done_before] == "skipped"
    assert sorted(statuses(out).values()) == ["done"] * (len(RECORDS) - 1) + ["failed",
                                                                              "skipped"]


def test_other_options_are_not_resumed(archive: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    record = archive / "site_a/100.hea"
    analyze(capsys, record, "--out", out, "--no-classify")
    analyze(capsys, record, "--out", out, "--no-classify", "--powerline", "60")
    assert statuses(out) == {"100": "done"}
    analyze(capsys, record, "--out", out, "--no-classify", "--powerline", "60")
    assert statuses(out) == {"100": "skipped"}


# --------------------------------------------------------------------------- crashes


def analyze_or_die(path: Path, *args: object):
    """analyze_one, except that the worker dies (as if killed for memory) on 2019/100."""
    if path.parent.name == "2019":
        os.kill(os.getpid(), signal.SIGKILL)
    return analyze_one(path, *args)


def test_a_killed_worker_fails_only_its_record(archive: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    # the workers are spawned: they import this module to find analyze_or_die
    monkeypatch.setattr("beatscope.cli.analyze_cmd.analyze_one", analyze_or_die)
    out = tmp_path / "out"
    code, err = analyze(capsys, archive, "--out", out, "--jobs", 2, "--no-classify")
    assert code == 1
    assert_clean_stderr(err)
    rows = summary_rows(out)
    assert {k: r["status"] for k, r in rows.items()} == {
        "site_a/100": "done", "site_b/2019/100": "failed", "site_b/2020/icu/201": "done",
        CORRUPT: "failed"}
    assert "killed by SIGKILL" in rows["site_b/2019/100"]["error"]
    assert not (out / "site_b/2019").exists()
    assert err.splitlines()[-1].startswith("beatscope: 2 of 4 records failed")


def _task(kind: str) -> str:
    if kind == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if kind == "exit":
        os._exit(3)
    if kind == "raise":
        raise ValueError("bad input")
    return kind.upper()


def test_worker_pool_confines_every_kind_of_failure() -> None:
    kinds = ["a", "kill", "b", "exit", "raise", "c", "kill", "d"]
    finished = [f for f in run_in_workers(_task, [(k,) for k in kinds], jobs=2) if f]
    by_index = {f.index: f for f in finished}
    assert sorted(by_index) == list(range(len(kinds)))
    for index, kind in enumerate(kinds):
        f = by_index[index]
        if kind == "kill":
            assert f.result is None and "killed by SIGKILL" in f.error
        elif kind == "exit":
            assert f.result is None and "exited with status 3" in f.error
        elif kind == "raise":
            assert f.result is None and f.error == "ValueError: bad input"
        else:
            assert f.result == kind.upper() and f.error is None


def _omp_threads() -> str | None:
    return os.environ.get("OMP_NUM_THREADS")


def test_each_worker_starts_with_its_share_of_threads(monkeypatch) -> None:
    """OpenMP reads its pool size at import: the worker must start with it set, and
    the parent's own environment must be left as it was."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    finished = [f for f in run_in_workers(_omp_threads, [()] * 2, jobs=2, threads=1) if f]
    assert [f.result for f in finished] == ["1", "1"]
    assert "OMP_NUM_THREADS" not in os.environ
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # the user's choice wins
    finished = [f for f in run_in_workers(_omp_threads, [()], jobs=1, threads=1) if f]
    assert finished[0].result == "3"


# --------------------------------------------------------------------------- planning


def test_plan_skips_its_own_summary_and_flags_colliding_outputs(tmp_path: Path) -> None:
    copy_record("mitdb_100", tmp_path / "100")
    (tmp_path / "100.edf").write_bytes(b"")  # writes 100.json too: the later one fails
    (tmp_path / "summary.csv").write_text("path,status\n")  # an earlier run's table
    items = plan_batch([tmp_path], tmp_path)
    assert [item.source.name for item in items] == ["100.edf", "100.hea"]
    assert items[0].collides_with is None
    assert items[1].collides_with == tmp_path / "100.edf"


def test_collision_is_a_failed_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy_record("mitdb_100", tmp_path / "in" / "100")
    copy_record("mitdb_119", tmp_path / "other" / "100")
    out = tmp_path / "out"
    code, err = analyze(capsys, tmp_path / "in" / "100", tmp_path / "other" / "100",
                        "--out", out, "--no-classify")
    assert code == 1
    rows = _rows_in_order(out)  # both rows have the output "100"
    assert [r["status"] for r in rows] == ["done", "failed"]
    assert "same output name" in rows[1]["error"]
    # on a rerun the first is skipped, and the second still fails: never "skipped" on
    # the strength of the other record's outputs
    analyze(capsys, tmp_path / "in" / "100", tmp_path / "other" / "100", "--out", out,
            "--no-classify")
    assert [r["status"] for r in _rows_in_order(out)] == ["skipped", "failed"]


def _rows_in_order(out: Path) -> list[dict[str, str]]:
    with open(out / "summary.csv", newline="") as fh:
        return list(csv.DictReader(fh))


# --------------------------------------------------------------------------- progress


class _Log(io.StringIO):
    def isatty(self) -> bool:
        return False


def test_progress_in_a_log_is_periodic_lines() -> None:
    log = _Log()
    progress = BatchProgress(25, skipped=5, stream=log, every_records=10, every_s=3600)
    for _ in range(19):
        progress.record_finished("done")
        progress.heartbeat()  # the last line is recent: nothing
    progress.record_finished("failed")
    progress.close()
    lines = log.getvalue().splitlines()
    assert lines == [
        "beatscope: 25 records: 5 up to date (skipped), 20 to analyse",
        lines[1], lines[2]]
    assert lines[1].startswith("beatscope: 15/25 records (done 10, failed 0, skipped 5, "
                               "remaining 10)") and "left" in lines[1]
    assert lines[2].startswith("beatscope: 25/25 records (done 19, failed 1, skipped 5, "
                               "remaining 0)") and "left" not in lines[2]


def test_progress_in_a_log_also_by_time() -> None:
    log = _Log()
    progress = BatchProgress(3, skipped=0, stream=log, every_records=10, every_s=0)
    progress.heartbeat()
    assert log.getvalue().splitlines()[-1].startswith("beatscope: 0/3 records (done 0")


def test_progress_on_a_terminal_is_a_bar() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    progress = BatchProgress(4, skipped=1, stream=screen)
    progress.record_started("100.hea")
    progress.record_finished("done")
    progress.close()
    text = screen.getvalue()
    assert "\r" in text and "1/3" in text and "done 1, failed 0, skipped 1" in text
