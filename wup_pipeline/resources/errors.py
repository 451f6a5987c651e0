"""Errors about bad input that name the file, the record and the field."""

from __future__ import annotations

MAX_PROBLEM_CHARS = 600  # a 1 MB cell must not become a 1 MB message


def shorten(text: str, limit: int = MAX_PROBLEM_CHARS) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters in all)"


class InputError(ValueError):
    """Bad input: ``<file> record <n> field '<name>': <problem>``."""

    def __init__(self, file: str, problem: str, record: int | str | None = None, field: str | None = None):
        self.file, self.problem, self.record, self.field = str(file), shorten(problem), record, field
        where = self.file
        if record is not None:
            where += f" record {record}"
        if field is not None:
            where += f" field '{field}'"
        super().__init__(f"{where}: {self.problem}")

    def __reduce__(self):
        # Dagster and multiprocessing pickle exceptions; rebuild from the parts, not from args.
        return (type(self), (self.file, self.problem, self.record, self.field))
