"""The archive: file names, atomic writes, paths that cannot escape, and the cache index."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from python_jobs.llm import LocalArchiveStorage, archive_file_name

KEY = "ab" + "0" * 62


def test_file_names_lead_with_a_utc_timestamp_to_the_millisecond():
    moment = dt.datetime(2026, 11, 21, 11, 15, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=1)))

    assert archive_file_name(moment, "b3", 1, "1f2e3d4c5b6a") == "20261121T101500123Z_b3_a1_1f2e3d4c.json"
    assert archive_file_name(moment, "all", 2, "ABCDEF0123") == "20261121T101500123Z_all_a2_abcdef01.json"


@pytest.mark.parametrize(
    ("timestamp", "label", "attempt", "digest", "problem"),
    [
        (dt.datetime(2026, 11, 21), "b1", 1, "1234abcd", "timezone-aware"),  # naive: which zone?
        (dt.datetime(2026, 11, 21, tzinfo=dt.UTC), "../b1", 1, "1234abcd", "batch labels"),
        (dt.datetime(2026, 11, 21, tzinfo=dt.UTC), "b1", 0, "1234abcd", "attempts count from 1"),
        (dt.datetime(2026, 11, 21, tzinfo=dt.UTC), "b1", 1, "xyz", "hex digits"),
    ],
)
def test_file_names_refuse_ambiguous_or_unsafe_parts(timestamp, label, attempt, digest, problem):
    with pytest.raises(ValueError, match=problem):
        archive_file_name(timestamp, label, attempt, digest)


def test_written_text_reads_back_and_leaves_no_temporary_files(tmp_path):
    archive = LocalArchiveStorage(tmp_path)

    archive.write_text("run/phase/file.json", '{"a": 1}')
    archive.write_text("run/phase/file.json", '{"a": 2}')

    assert archive.read_text("run/phase/file.json") == '{"a": 2}'
    assert archive.exists("run/phase/file.json")
    assert not archive.exists("run/phase/other.json")
    assert os.listdir(tmp_path / "run" / "phase") == ["file.json"]


def test_a_failed_write_keeps_the_old_file_and_cleans_up(tmp_path, monkeypatch):
    archive = LocalArchiveStorage(tmp_path)
    archive.write_text("run/file.json", "old")

    def broken_replace(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        archive.write_text("run/file.json", "new")

    assert archive.read_text("run/file.json") == "old"
    assert os.listdir(tmp_path / "run") == ["file.json"]


@pytest.mark.parametrize(
    "path", ["/etc/passwd", "../outside.json", "run/../../outside.json", "run\\file", ""]
)
def test_paths_outside_the_archive_are_refused(tmp_path, path):
    with pytest.raises(ValueError, match="inside the archive"):
        LocalArchiveStorage(tmp_path).write_text(path, "x")


def test_cache_pointers_live_in_a_fanned_out_index(tmp_path):
    archive = LocalArchiveStorage(tmp_path)
    archive.write_text("run/phase/answer.json", "{}")

    archive.remember_cache_key(KEY, "run/phase/answer.json")

    assert archive.find_by_cache_key(KEY) == "run/phase/answer.json"
    assert (tmp_path / ".cache_index" / "ab" / KEY).read_text() == "run/phase/answer.json"
    assert archive.find_by_cache_key("cd" + "0" * 62) is None


def test_a_pointer_to_a_pruned_file_is_no_entry(tmp_path):
    archive = LocalArchiveStorage(tmp_path)
    archive.write_text("run/phase/answer.json", "{}")
    archive.remember_cache_key(KEY, "run/phase/answer.json")

    (tmp_path / "run" / "phase" / "answer.json").unlink()

    assert archive.find_by_cache_key(KEY) is None


def test_cache_keys_must_be_hex_so_they_cannot_name_other_paths(tmp_path):
    with pytest.raises(ValueError, match="hex"):
        LocalArchiveStorage(tmp_path).find_by_cache_key("../../etc/passwd")
