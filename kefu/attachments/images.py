"""Image checks and thumbnails: the type comes from the bytes (magic numbers), never from a
file name or a declared Content-Type, and the image must decode as that type."""

from __future__ import annotations

import io
import warnings

ALLOWED = ("image/jpeg", "image/png", "image/webp", "image/gif")
# Decoding a 10 MB file can still ask for gigabytes (a "decompression bomb"): cap the pixels.
MAX_PIXELS = 40_000_000
THUMB_SIDE = 320
THUMB_TYPE = "image/jpeg"
_PIL_FORMAT = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/gif": "GIF"}


class ImageError(ValueError):
    """Bytes that are not an allowed, decodable image; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def sniff(data: bytes) -> str | None:
    """The media type the magic bytes announce (JPEG, PNG, WebP, GIF), else None."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return None


def inspect(data: bytes) -> tuple[str, int, int]:
    """(media type, width, height) of an allowed image; ImageError otherwise."""
    kind = sniff(data)
    if kind is None:
        raise ImageError(f"not an allowed image type ({', '.join(ALLOWED)})")
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[_PIL_FORMAT[kind]]) as im:
                width, height = im.size
                if width * height > MAX_PIXELS:
                    raise ImageError(f"image too large: {width}×{height} pixels "
                                     f"(at most {MAX_PIXELS} pixels)")  # fmt: skip
                im.verify()
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(f"image too large (at most {MAX_PIXELS} pixels)") from None
    except Exception as e:  # truncated or corrupt: Pillow raises many kinds
        raise ImageError(f"not a valid {kind.split('/')[1]} image ({type(e).__name__})") from None
    return kind, width, height


def thumbnail(data: bytes, side: int = THUMB_SIDE) -> bytes:
    """A JPEG at most `side` pixels on its longer edge (first frame of an animation;
    transparency on white). Small images are re-encoded too: one type for every thumb."""
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(data)) as im:
        im.seek(0)
        frame = ImageOps.exif_transpose(im.copy()) or im.copy()
    frame.thumbnail((side, side))
    if frame.mode in ("RGBA", "LA", "P", "PA"):
        rgba = frame.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, (255, 255, 255))
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        frame = canvas
    elif frame.mode != "RGB":
        frame = frame.convert("RGB")
    out = io.BytesIO()
    frame.save(out, "JPEG", quality=80, optimize=True)
    return out.getvalue()
