"""The storage interface's local back-end, where it lives by default, and the checks of the
image module on their own."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from kefu.attachments import images
from kefu.attachments.storage import LocalStorage, S3Storage, data_folder, from_env, key_of
from tests.attachments.conftest import image


def test_local_storage_round_trip_and_refuses_paths_out_of_its_folder(tmp_path: Path) -> None:
    st = LocalStorage(tmp_path)
    key = key_of("店铺/../x", "ab" * 32)
    assert key.split("/")[0] != "店铺" and len(key.split("/")[0]) == 32  # a hash, never the id
    assert (st.get(key), st.exists(key)) == (None, False)
    st.put(key, b"one", "image/png")
    st.put(key, b"two", "image/png")  # content-addressed: the first write stays
    assert (st.get(key), st.exists(key)) == (b"one", True)
    assert not [p for p in tmp_path.rglob(".up-*")]  # no temporary file left behind
    for bad in ("../etc/passwd", "a//b", "a/./b"):
        with pytest.raises(ValueError):
            st.get(bad)


def test_the_data_folder_is_the_sqlite_databases_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert data_folder(str(tmp_path / "kefu.db")) == tmp_path
    assert data_folder(None) == Path("var")
    assert data_folder(":memory:") == Path("var")
    monkeypatch.delenv("KEFU_ATTACHMENTS", raising=False)
    st = from_env(str(tmp_path / "kefu.db"))
    assert isinstance(st, LocalStorage) and st.root == tmp_path / "attachments"
    monkeypatch.setenv("KEFU_ATTACHMENTS", str(tmp_path / "elsewhere"))
    st = from_env(None)
    assert isinstance(st, LocalStorage) and st.root == tmp_path / "elsewhere"


@pytest.mark.skipif(importlib.util.find_spec("boto3") is not None, reason="boto3 installed")
def test_s3_without_boto3_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEFU_ATTACHMENTS", "s3://bucket/chat")
    with pytest.raises(RuntimeError, match=r"pip install 'kefu\[s3\]'"):
        from_env(None)
    with pytest.raises(RuntimeError):
        S3Storage("bucket")


def test_sniff_and_inspect() -> None:
    for fmt, kind in (("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp"),
                      ("GIF", "image/gif")):  # fmt: skip
        data = image(fmt, (64, 48))
        assert images.sniff(data) == kind
        assert images.inspect(data) == (kind, 64, 48)
    for data in (b"", b"BM" + b"\0" * 60, b"%PDF-1.7", b"<svg/>", b"RIFF\0\0\0\0WAVE"):
        assert images.sniff(data) is None
        with pytest.raises(images.ImageError, match="not an allowed image type"):
            images.inspect(data)
    # a JPEG's magic bytes in front of PNG data: decoded as JPEG only, so refused
    with pytest.raises(images.ImageError, match="not a valid jpeg image"):
        images.inspect(b"\xff\xd8\xff" + image("PNG")[3:])


def test_thumbnails_are_jpeg_within_the_box_and_flatten_transparency() -> None:
    import io

    from PIL import Image

    thumb = images.thumbnail(image("PNG", (1000, 250), "#00000000"))
    with Image.open(io.BytesIO(thumb)) as im:
        assert (im.format, im.size) == ("JPEG", (320, 80))
        assert im.getpixel((10, 10)) == (255, 255, 255)  # transparent became white
    small = images.thumbnail(image("GIF", (20, 10)))
    with Image.open(io.BytesIO(small)) as im:
        assert (im.format, im.size) == ("JPEG", (20, 10))  # never scaled up
