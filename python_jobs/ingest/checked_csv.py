"""The one CSV reader of every loader: a file's records with the physical line each starts on, or a refusal.

The reader owns everything about the file's form, so each loader only checks values:

- the encoding: UTF-8, with or without a byte order mark; a byte that is not UTF-8 is refused with its line;
- the delimiter (one character), the header (the wanted columns must be there, once) and the field count;
- quoting: a quote left open at the end of the file, text after a closing quote, a carriage return inside an
  unquoted value, or a value longer than `MAX_FIELD_CHARACTERS` is refused, naming the line where the field
  began;
- line breaks: a value may span several lines only in the columns a loader names as free text (a product
  description), and then over at most `MAX_TEXT_LINES` lines; anywhere else a line break means a quote was left
  open, and the file is refused at the line where that field began;
- NUL characters, which no warehouse text column can hold, in any field.

Lines are physical lines of the file, ended by a line feed (`\\n` or `\\r\\n`), as `wc -l` or an editor's "go to
line" counts them: a record spanning lines is named by the line it starts on, and a blank line still counts.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Iterator
from pathlib import Path

from python_jobs.ingest.raw_loading import LoadError

MAX_TEXT_LINES = 50
MAX_FIELD_CHARACTERS = csv.field_size_limit()
MAX_ID_CHARACTERS = 256
_BLOCK_BYTES = 1 << 20
_BOM = b"\xef\xbb\xbf"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CSV_PROBLEMS = {
    "unexpected end of data": "a quote opened here is never closed (the file ends inside it)",
    "expected after": 'text after a closing quote (a quote inside a value must be doubled: "")',
    "new-line character seen in unquoted field": "a carriage return inside an unquoted value",
    "field larger than field limit": (
        f"a value longer than {MAX_FIELD_CHARACTERS:,} characters (a quote opened here and never closed?)"
    ),
}


def control_character(value: str) -> str | None:
    """The first control character in `value`, shown as an escape (`'\\t'`), or None."""
    found = _CONTROL.search(value)
    return repr(found.group())[1:-1] if found else None


class CheckedCsv:
    """A CSV file's header and records, checked for form; iterate for `(line, fields)`.

    `wanted` are the columns the loader reads (each must be in the header, once); `text_columns` are those whose
    values may span lines (up to `MAX_TEXT_LINES`). Columns the loader does not read may span lines too, since
    nothing is stored from them, within the same bound.
    """

    def __init__(
        self, path: Path, delimiter: str, wanted: list[str], text_columns: frozenset[str] = frozenset()
    ) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise LoadError(f"{self.path}: no such file")
        if len(delimiter) != 1 or delimiter in '\r\n"':
            raise LoadError(
                f"--delimiter must be one character other than a quote or a line break, got {delimiter!r}"
            )
        self.delimiter = delimiter
        self._lines_before_block = 0
        self._nul_seen = False
        self._reader = csv.reader(self._text_lines(), delimiter=delimiter, strict=True)
        try:
            self.header = next(self._reader, [])
        except csv.Error as error:
            raise self._csv_error(error, 1, self._record_lines(1)) from None
        if self._reader.line_num > 1:
            raise LoadError(f"{self.path}: line 1: the header spans lines (a quote left open?)")
        missing = [name for name in wanted if name not in self.header]
        if missing:
            found = ", ".join(self.header) if self.header else "no header at all"
            raise LoadError(
                f"{self.path}: line 1: missing column {', '.join(repr(m) for m in missing)} (found: {found})"
            )
        twice = [name for name in wanted if self.header.count(name) > 1]
        if twice:
            raise LoadError(f"{self.path}: line 1: column {twice[0]!r} appears more than once in the header")
        self.position = {name: self.header.index(name) for name in wanted}
        self._stored = {self.header.index(name) for name in wanted if name not in text_columns}

    def error(self, line: int, column: str | None, problem: str) -> LoadError:
        where = f"line {line}, column {column!r}" if column is not None else f"line {line}"
        return LoadError(f"{self.path}: {where}: {problem}")

    def _column(self, index: int) -> str | None:
        return self.header[index] if index < len(self.header) else None

    # ----------------------------------------------------------------------------------------- decoding

    def _text_lines(self) -> Iterator[str]:
        """The file's lines, decoded a block at a time; only `\\n` ends a line (a bare `\\r` does not)."""
        with self.path.open("rb") as handle:
            if handle.read(len(_BOM)) != _BOM:
                handle.seek(0)
            leftover = b""
            while True:
                data = handle.read(_BLOCK_BYTES)
                block = leftover + data
                cut = block.rfind(b"\n") + 1 if data else len(block)
                block, leftover = block[:cut], block[cut:]
                if block:
                    try:
                        text = block.decode("utf-8")
                    except UnicodeDecodeError as error:
                        raise self._decode_error(block, error) from None
                    self._nul_seen = self._nul_seen or "\x00" in text
                    self._lines_before_block += block.count(b"\n")
                    yield from io.StringIO(text, newline="\n")
                if not data:
                    return

    def _decode_error(self, block: bytes, error: UnicodeDecodeError) -> LoadError:
        line = self._lines_before_block + block.count(b"\n", 0, error.start) + 1
        column = error.start - (block.rfind(b"\n", 0, error.start) + 1) + 1
        return LoadError(
            f"{self.path}: line {line}: not UTF-8 text (byte {block[error.start]:#04x} at byte {column} of the "
            "line; save the file as UTF-8)"
        )

    # ----------------------------------------------------------------------------------------- records

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        reader = self._reader
        width = len(self.header)
        while True:
            line = reader.line_num + 1
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                raise self._csv_error(error, line, self._record_lines(line)) from None
            if not fields:
                continue  # a blank line
            if reader.line_num != line:
                self._check_line_breaks(line, fields)
            if len(fields) != width:
                raise self.error(line, None, f"expected {width} fields, found {len(fields)}")
            if self._nul_seen:
                for index, value in enumerate(fields):
                    if "\x00" in value:
                        raise self.error(line, self._column(index), "a NUL character (\\x00) in the value")
            yield line, fields

    def _check_line_breaks(self, line: int, fields: list[str]) -> None:
        """A record over several lines: each value with line breaks must be free text, within the bound."""
        for index, value in enumerate(fields):
            breaks = value.count("\n")
            if breaks and (index in self._stored or breaks >= MAX_TEXT_LINES):
                limit = "no line break" if index in self._stored else f"at most {MAX_TEXT_LINES} lines"
                raise self.error(
                    line,
                    self._column(index),
                    f"a quoted value runs from line {line} to line {line + breaks}, but this column takes "
                    f"{limit} (a quote opened here and never closed?)",
                )
            line += breaks

    def _record_lines(self, start: int) -> list[str]:
        """The lines from `start` on, as far as a field can reach: only read again to explain a refusal."""
        lines: list[str] = []
        size = 0
        with self.path.open("rb") as handle:
            for raw in itertools.islice(handle, start - 1, None):
                text = raw.decode("utf-8", errors="replace")
                if start == 1:
                    text = text.removeprefix("\ufeff")
                lines.append(text)
                size += len(text)
                if size > MAX_FIELD_CHARACTERS + 1024 or len(lines) > MAX_TEXT_LINES + 1:
                    break
        return lines

    def _csv_error(self, error: csv.Error, line: int, lines: list[str]) -> LoadError:
        """Name the field that was being read when the csv module gave up, at the line where it began."""
        message = str(error)
        problem = next((text for key, text in _CSV_PROBLEMS.items() if key in message), message)
        index, field_line = _last_field_start("".join(lines), self.delimiter)
        return self.error(line + field_line, self._column(index), problem)


def _last_field_start(text: str, delimiter: str) -> tuple[int, int]:
    """Walk one record's text to where the csv module must have stopped; return that field's index and the
    line, counted from the record's first, on which it began. Only used on a refusal, on a field's worth of text.
    """
    index, line, field_line = 0, 0, 0
    quoted, at_start = False, True
    position, end = 0, len(text)
    while position < end:
        char = text[position]
        if quoted:
            if char == '"':
                if text.startswith('""', position):
                    position += 1
                else:
                    quoted = False
                    after = text[position + 1 : position + 2]
                    if after not in ("", delimiter, "\r", "\n"):
                        break  # text after the closing quote
            elif char == "\n":
                line += 1
        elif char == '"' and at_start:
            quoted = True
        elif char == delimiter:
            index, field_line = index + 1, line
            at_start = True
            position += 1
            continue
        elif char in "\r\n":
            break
        at_start = False
        position += 1
    return index, field_line
