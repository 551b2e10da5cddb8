"""Where attachment bytes live: a small interface, a local folder (default) and S3.

Keys are `<store namespace>/<sha256[:2]>/<sha256>[.thumb]`: content-addressed, so the same
image sent twice in a store is stored once, and the store's namespace (a hash of its id,
never the id itself: ids may hold any character) keeps stores apart. Nothing here is served
directly; the API checks who asks before reading a key.

Configuration (environment, read once per app):
- `KEFU_ATTACHMENTS`: `s3://bucket/prefix` for S3-compatible storage (needs `boto3`:
  `pip install kefu[s3]`; endpoint from `KEFU_S3_ENDPOINT`, credentials from the usual
  AWS variables), else a folder; default `<data folder>/attachments`, the data folder being
  the SQLite database's folder (`./var` for the default database) or `./var`.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import tempfile
from pathlib import Path
from typing import Any, Protocol


class Storage(Protocol):
    """The interface every back-end implements (bytes in, bytes out, by key)."""

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store `data` under `key` (overwriting is harmless: keys are content hashes)."""

    def get(self, key: str) -> bytes | None:
        """The bytes under `key`, None when absent."""

    def exists(self, key: str) -> bool:
        """Whether `key` is stored."""


def namespace(store: str) -> str:
    """The store's folder: a hash, so any store id is a safe, fixed-length path part."""
    return hashlib.sha256(store.encode("utf-8")).hexdigest()[:32]


def key_of(store: str, digest: str, thumb: bool = False) -> str:
    """The storage key of an attachment (`digest`: its sha256 hex) or of its thumbnail."""
    return f"{namespace(store)}/{digest[:2]}/{digest}{'.thumb' if thumb else ''}"


class LocalStorage:
    """Files under a folder; written to a temporary file and renamed (never half-written)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"bad storage key {key!r}")
        return self.root.joinpath(*parts)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".up-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()


class S3Storage:
    """An S3-compatible bucket (AWS, MinIO, Ceph, OSS/COS in S3 mode) through boto3.

    Not exercised by the test suite (no S3 server there); the local back-end is.
    """

    def __init__(self, bucket: str, prefix: str = "", endpoint: str | None = None,
                 client: Any = None) -> None:  # fmt: skip
        if client is None:
            try:
                boto3: Any = importlib.import_module("boto3")
            except ImportError:
                raise RuntimeError(
                    "S3 attachment storage needs boto3: pip install 'kefu[s3]'"
                ) from None
            client = boto3.client("s3", endpoint_url=endpoint)
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data,
                               ContentType=content_type)  # fmt: skip

    def get(self, key: str) -> bytes | None:
        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as e:  # botocore's NoSuchKey / ClientError 404
            code = getattr(e, "response", {}).get("Error", {}).get("Code")
            if code in ("NoSuchKey", "404", "NotFound"):
                return None
            raise
        data: bytes = obj["Body"].read()
        return data

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as e:
            code = getattr(e, "response", {}).get("Error", {}).get("Code")
            if code in ("NoSuchKey", "404", "NotFound"):
                return False
            raise
        return True


def data_folder(sqlite_file: str | None) -> Path:
    """The server's data folder: the SQLite database's folder, else `./var`."""
    if sqlite_file and sqlite_file != ":memory:":
        return Path(sqlite_file).parent
    return Path("var")


def from_env(sqlite_file: str | None = None) -> Storage:
    """The configured back-end (see the module's docstring)."""
    where = os.environ.get("KEFU_ATTACHMENTS", "").strip()
    if where.startswith("s3://"):
        bucket, _, prefix = where.removeprefix("s3://").partition("/")
        return S3Storage(bucket, prefix, os.environ.get("KEFU_S3_ENDPOINT") or None)
    return LocalStorage(Path(where) if where else data_folder(sqlite_file) / "attachments")
