"""A corpus run killed midway resumes without redoing finished files; broken files are
recorded as failed while the others are transcribed."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from specwhisper.cli import main
from specwhisper.corpus.records import RECORDS_NAME, read_records

pytestmark = pytest.mark.slow

DEV = Path(__file__).resolve().parents[1] / "data" / "dev"
FAST = ["--model", "tiny.en", "--draft", "none", "--temperature", "0", "--no-progress"]


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.is_file() else []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead but not yet reaped by its new parent.
    status = Path(f"/proc/{pid}/stat")
    return status.is_file() and status.read_text().split(") ")[-1][:1] != "Z"


def test_a_killed_run_resumes_without_redoing_finished_files(tmp_path, capsys):
    clips = tmp_path / "clips"
    clips.mkdir()
    for name in ("dev_005.wav", "dev_006.wav", "dev_008_noisy.wav", "dev_013.wav", "dev_018.wav"):
        shutil.copy(DEV / name, clips / name)
    output = tmp_path / "out"
    command = [sys.executable, "-m", "specwhisper.cli", "corpus", str(clips)]
    command += ["--output", str(output), "--batch-size", "1", *FAST]
    run = subprocess.Popen(command, stderr=subprocess.PIPE, start_new_session=True)
    try:
        records, deadline = output / RECORDS_NAME, time.monotonic() + 180
        while not (records.is_file() and records.read_bytes().count(b"\n") >= 1):
            assert run.poll() is None, run.stderr.read().decode()
            assert time.monotonic() < deadline, "no record within 180 s"
            time.sleep(0.05)
        workers = _children(run.pid)
        run.send_signal(signal.SIGKILL)  # the driver only: its workers must notice and exit
        run.wait()
        finished = records.read_bytes()
        deadline = time.monotonic() + 15
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(_alive(pid) for pid in workers), "orphaned workers kept running"
    finally:
        with contextlib.suppress(ProcessLookupError):  # whatever this test started is left
            os.killpg(run.pid, signal.SIGKILL)
        run.wait()
        run.stderr.close()
    done_before = len(read_records(output))
    assert 1 <= done_before < 5, "the run was not killed midway"
    with open(records, "ab") as file:
        file.write(b'{"file": "' + str(clips).encode() + b'/dev_005.wav", "status": "o')  # torn

    assert main(["corpus", str(clips), "--output", str(output), *FAST]) == 0
    err = capsys.readouterr().err
    assert f"5 files, {done_before} done before (skipped), {5 - done_before} to do" in err
    after = read_records(output)
    assert records.read_bytes().startswith(finished)  # finished records kept as they were
    assert sorted(r["file"] for r in after) == sorted(str(p) for p in clips.iterdir())
    assert all(r["status"] == "ok" for r in after)  # one record per file: none was redone


def test_broken_files_are_recorded_and_the_others_transcribed(tmp_path, capsys):
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(DEV / "dev_003.wav", folder / "good.wav")
    (folder / "notes.wav").write_text("a text file, renamed\n")
    (folder / "empty.wav").write_bytes(b"")
    (folder / "cut.wav").write_bytes((DEV / "dev_002.wav").read_bytes()[:20000])
    output = tmp_path / "out"
    args = ["corpus", str(folder), "--output", str(output), "--formats", "srt", *FAST]
    assert main(args) == 1
    assert "1 transcribed, 3 failed" in capsys.readouterr().err
    records = {Path(r["file"]).name: r for r in read_records(output)}
    assert records["good.wav"]["status"] == "ok" and records["good.wav"]["text"]
    for name, problem in (("notes.wav", "decoded"), ("empty.wav", "empty"), ("cut.wav", "trunc")):
        record = records[name]
        assert record["status"] == "failed" and record["error"]["type"] == "AudioDecodeError"
        assert name in record["error"]["message"] and problem in record["error"]["message"]
        assert not (output / f"{Path(name).stem}.srt").exists()
    assert (output / "good.srt").is_file()
    # Again: the good file is done; the broken ones are tried again and fail again.
    assert main(args) == 1
    assert "4 files, 1 done before (skipped), 3 to do" in capsys.readouterr().err
