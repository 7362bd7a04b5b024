"""The engine in a child process (``beatscope.analysis.engine_process``), Qt-free.

Each engine is a spawned interpreter that imports torch (a few seconds), so the
tests share one where they can.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from dataclasses import replace

import numpy as np
import pytest

from beatscope.analysis import AnalysisOptions, analyze
from beatscope.analysis.classifier_cache import ClassifierSpec, load_classifier
from beatscope.analysis.engine_process import (
    EngineCrashed,
    EnginePool,
    EngineProcess,
    RecordSource,
)
from beatscope.errors import BeatScopeError, CancelledError
from beatscope.io import load_record


def never() -> bool:
    return False


@pytest.fixture(scope="module")
def engine():
    e = EngineProcess()
    yield e
    e.close()


def test_engine_result_equals_in_process_analysis(engine, data_dir):
    path = data_dir / "mitdb_208.hea"
    record = load_record(path)
    blocks, models, stages = [], [], []
    result = engine.analyze(
        RecordSource.of(record, path), AnalysisOptions(), ClassifierSpec(),
        should_cancel=never, on_beats=lambda *block: blocks.append(block),
        on_model=models.append, on_progress=lambda stage, f: stages.append(stage))
    local = analyze(record, replace(AnalysisOptions(),
                                    classifier=load_classifier(ClassifierSpec())))
    assert result.record is None  # the samples are not sent back
    np.testing.assert_array_equal(result.beats.sample, local.beats.sample)
    np.testing.assert_array_equal(result.beats.label, local.beats.label)
    np.testing.assert_allclose(result.beats.probability, local.beats.probability)
    assert result.rhythm == local.rhythm
    # streamed blocks cover every beat once, in order
    assert [b[0] for b in blocks] == sorted(b[0] for b in blocks)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in blocks]), local.beats.sample)
    np.testing.assert_array_equal(np.concatenate([b[2] for b in blocks]), local.beats.label)
    assert models and models[0]["models"] == ["resnet", "slap"]
    assert {"classify", "rhythm"} <= set(stages)  # short steps may fall between reports
    assert engine.info is not None and "cuda" in engine.info


def test_in_memory_record_is_sent_whole(engine, data_dir):
    record = load_record(data_dir / "mitdb_100.hea")
    result = engine.analyze(RecordSource.of(record), AnalysisOptions(), None,
                            should_cancel=never)
    assert len(result.beats) > 20
    assert set(result.beats.label) == {"Q"}  # no classifier asked for
    assert any("labelled Q" in w for w in result.warnings)


def test_unreadable_file_is_a_one_line_error_and_engine_survives(engine, tmp_path, data_dir):
    bad = tmp_path / "bad.hea"
    bad.write_text("this is not a header\n")
    with pytest.raises(BeatScopeError) as err:
        engine.analyze(RecordSource(path=bad), AnalysisOptions(), None, should_cancel=never)
    assert "\n" not in str(err.value) and "bad" in str(err.value)
    assert engine.alive  # the same engine takes the next job
    record = load_record(data_dir / "mitdb_100.hea")
    assert len(engine.analyze(RecordSource.of(record), AnalysisOptions(), None,
                              should_cancel=never).beats) > 20


def test_file_that_changed_since_opening_is_refused(engine, data_dir):
    path = data_dir / "mitdb_100.hea"
    record = load_record(path)
    source = RecordSource(path=path, expect=(record.n_samples + 1, record.n_leads, record.fs))
    with pytest.raises(BeatScopeError, match="changed on disk"):
        engine.analyze(source, AnalysisOptions(), None, should_cancel=never)


def test_cancel_kills_the_engine_at_once(data_dir):
    path = data_dir / "mitdb_208.hea"
    record = load_record(path)
    e = EngineProcess()
    started = []

    def should_cancel() -> bool:
        return bool(started) and time.monotonic() - started[0] > 0.0

    t0 = time.monotonic()
    with pytest.raises(CancelledError):
        e.analyze(RecordSource.of(record, path), AnalysisOptions(), ClassifierSpec(),
                  should_cancel=should_cancel,
                  on_progress=lambda stage, f: started or started.append(time.monotonic()))
    assert time.monotonic() - started[0] < 1.0  # not at the end of an engine step
    assert not e.alive and not e.process.is_alive()
    assert time.monotonic() - t0 < 60


def test_engine_that_dies_is_reported_not_waited_for(data_dir):
    record = load_record(data_dir / "mitdb_208.hea")
    e = EngineProcess()

    def kill_it_once_running(stage: str, fraction: float) -> None:
        if e.process.is_alive():
            e.process.kill()

    with pytest.raises(EngineCrashed, match="stopped unexpectedly"):
        e.analyze(RecordSource.of(record, data_dir / "mitdb_208.hea"), AnalysisOptions(),
                  None, should_cancel=never, on_progress=kill_it_once_running)
    assert not e.alive


def test_pool_reuses_a_healthy_engine_and_replaces_a_killed_one():
    pool = EnginePool()
    try:
        pool.prewarm()
        first = pool.acquire()
        pool.release(first)
        assert pool.acquire() is first  # warm engine reused
        first.kill()
        pool.release(first)  # not taken back; a fresh one is started
        second = pool.acquire()
        assert second is not first and second.alive
        pool.release(second)
    finally:
        pool.shutdown()


def test_viewer_process_never_imports_torch(data_dir, tmp_path):
    """The engine's device facts and results unpickle without torch: importing it
    into the viewer costs ~250 MB and a ~200 ms GIL stall (a TorchVersion in the
    hello message did exactly that)."""
    code = textwrap.dedent(f"""
        import sys
        from beatscope.analysis import AnalysisOptions
        from beatscope.analysis.classifier_cache import ClassifierSpec
        from beatscope.analysis.engine_process import EngineProcess, RecordSource
        from beatscope.io import load_record
        if __name__ == "__main__":
            path = {str(data_dir / "mitdb_119.hea")!r}
            e = EngineProcess()
            r = e.analyze(RecordSource.of(load_record(path), path), AnalysisOptions(),
                          ClassifierSpec(), should_cancel=lambda: False)
            assert e.info["torch"] and len(r.beats) > 100
            e.close()
            print("torch" in sys.modules)
        """)
    script = tmp_path / "viewer_side.py"  # a file: spawn re-imports the main module
    script.write_text(code)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_progress_throttle_always_sends_a_new_stage_and_the_end():
    from beatscope.analysis.engine_process import PROGRESS_INTERVAL_S, ProgressThrottle

    now = [100.0]
    sent = []
    throttle = ProgressThrottle(lambda stage, f: sent.append((stage, f)), clock=lambda: now[0])
    throttle("denoise", 0.50)
    throttle("denoise", 0.55)  # 0 ms later: dropped
    now[0] += PROGRESS_INTERVAL_S / 10
    throttle("classify", 0.58)  # a new stage 5 ms later: sent, or the bar says Filtering
    throttle("classify", 0.60)
    now[0] += 2 * PROGRESS_INTERVAL_S
    throttle("classify", 0.70)
    throttle("rhythm", 1.0)
    assert sent == [("denoise", 0.50), ("classify", 0.58), ("classify", 0.70), ("rhythm", 1.0)]
