"""One line for a user's mistake instead of a traceback.

Errors a person can fix (a wrong path, a file that is not what it claims to be, no
permission) become one sentence saying what to do; anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

import gzip
import zlib

from kefu.extras import MissingExtra


class UserError(Exception):
    """A mistake in what the user asked for; its text says what to do."""


def _name(exc: OSError) -> str:
    return str(exc.filename) if exc.filename is not None else "the file"


def user_error_message(exc: BaseException) -> str | None:
    """The one-line message for `exc`, or None when it is not the user's to fix."""
    if isinstance(exc, (UserError, MissingExtra)):
        return str(exc)
    if isinstance(exc, IsADirectoryError):
        return f"{_name(exc)} is a folder: give a file"
    if isinstance(exc, NotADirectoryError):
        return f"{_name(exc)} is (or lies under) a file: give a folder path"
    if isinstance(exc, FileExistsError):
        return f"{_name(exc)} already exists and is not a folder: give another path"
    if isinstance(exc, PermissionError):
        return f"permission denied: {_name(exc)} (check who owns it, or choose another path)"
    if isinstance(exc, FileNotFoundError):
        return f"no such file or folder: {_name(exc)}"
    if isinstance(exc, (gzip.BadGzipFile, zlib.error, EOFError)):
        return f"the .gz file is corrupt or truncated ({exc}): re-download or re-compress it"
    if type(exc).__name__ in {"ArrowInvalid", "ArrowIOError"}:
        return f"not a readable Parquet file ({exc})"
    if isinstance(exc, OSError) and exc.errno == 28:  # ENOSPC
        return f"no space left on the device writing {_name(exc)}: free space and retry"
    return None
