"""A generated folder of hostile files, and the names of the good and the bad ones in it.

Everything is made from a fixed seed, so a failure names the same file every run. Good files are
the unusual-but-valid kinds a loader must accept (16-bit, CMYK, palette, animated, multi-page,
odd names, a link to a file); bad ones are truncated at random offsets, empty, garbage,
decompression bombs by declared size, FIFOs, a link to ``/dev/zero``, broken links, a corrupt zip
and a zip holding a bomb. Each good file has its own pixels, so no two hold the same content.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

# A zip member declaring (and holding) this many zero bytes compresses to about 1 MiB.
BOMB_MEMBER_BYTES = 1024 * 1024 * 1024


@dataclass
class Corpus:
    """The folder, and the names (relative to it, as the loaders report them) by kind."""

    root: Path
    good: set[str] = field(default_factory=set)
    bad: set[str] = field(default_factory=set)

    @property
    def regular_files(self) -> list[Path]:
        """Plain files only (what a browser can upload), links and FIFOs left out."""
        return sorted(
            p for p in self.root.rglob("*") if p.is_file() and not p.is_symlink() and not _fifo(p)
        )


def _fifo(path: Path) -> bool:
    import stat

    return stat.S_ISFIFO(os.lstat(path).st_mode)


def _noise(rng: np.random.Generator, shape: tuple[int, ...], dtype: type = np.uint8) -> np.ndarray:
    high = 65535 if dtype is np.uint16 else 255
    return rng.integers(0, high + 1, size=shape, dtype=dtype)


def _encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def good_image(kind: int, rng: np.random.Generator) -> tuple[str, bytes]:
    """One valid image of the ``kind``-th unusual sort: (extension, bytes)."""
    size = (12, 12)
    which = kind % 11
    if which == 0:
        return ".png", _encode(Image.fromarray(_noise(rng, size)), "PNG")
    if which == 1:
        return ".png", _encode(Image.fromarray(_noise(rng, (*size, 3))), "PNG")
    if which == 2:  # 16-bit grayscale
        return ".png", _encode(Image.fromarray(_noise(rng, size, np.uint16)), "PNG")
    if which == 3:  # CMYK JPEG
        rgb = Image.fromarray(_noise(rng, (*size, 3)))
        return ".jpg", _encode(rgb.convert("CMYK"), "JPEG", quality=95)
    if which == 4:  # CMYK TIFF
        return ".tif", _encode(Image.fromarray(_noise(rng, (*size, 4)), "CMYK"), "TIFF")
    if which == 5:  # palette PNG with transparency
        image = Image.fromarray(_noise(rng, (*size, 3))).quantize(16)
        return ".png", _encode(image, "PNG", transparency=0)
    if which == 6:  # animated GIF, three frames
        frames = [Image.fromarray(_noise(rng, (*size, 3))).quantize(32) for _ in range(3)]
        data = _encode(frames[0], "GIF", save_all=True, append_images=frames[1:], loop=0)
        return ".gif", data
    if which == 7:  # multi-page TIFF
        pages = [Image.fromarray(_noise(rng, size)) for _ in range(3)]
        return ".tiff", _encode(pages[0], "TIFF", save_all=True, append_images=pages[1:])
    if which == 8:  # RGBA WebP (lossless keeps the noise distinct)
        return ".webp", _encode(Image.fromarray(_noise(rng, (*size, 4))), "WEBP", lossless=True)
    if which == 9:
        return ".bmp", _encode(Image.fromarray(_noise(rng, (*size, 3))), "BMP")
    return ".png", _encode(Image.fromarray(_noise(rng, size) > 127), "PNG")  # 1-bit


def bomb_png(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width`` x ``height`` and whose data is a few bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


ODD_STEMS = [
    "space in name",
    "ünïcödé-名前",
    "-leading-dash",
    "percent%20sign",
    "semi;colon",
    "quote'single",
    "x" * 200,
    "emoji-😀",
    "tab\tin",
    "dots..in..name",
]


def build_corpus(root: Path, n_good: int = 560, n_truncated: int = 300, seed: int = 17) -> Corpus:
    """Write the corpus under ``root`` (made here) and return what is good and what is bad."""
    rng = np.random.default_rng(seed)
    corpus = Corpus(root)
    root.mkdir(parents=True)
    (root / "sub" / "deeper").mkdir(parents=True)
    goods: list[tuple[str, bytes]] = []
    for i in range(n_good):
        suffix, data = good_image(i, rng)
        folder = ("", "sub/", "sub/deeper/")[i % 3]
        stem = ODD_STEMS[i % len(ODD_STEMS)] + f"-{i}" if i % 7 == 0 else f"good-{i:04d}"
        name = folder + stem + suffix
        (root / name).write_bytes(data)
        corpus.good.add(name)
        goods.append((name, data))
    _write_truncated(corpus, goods, n_truncated, rng)
    _write_malformed(corpus, rng)
    _write_special_files(corpus, rng)
    _write_archives(corpus, rng)
    return corpus


def _write_truncated(
    corpus: Corpus, goods: list[tuple[str, bytes]], n: int, rng: np.random.Generator
) -> None:
    # Cut well inside the file: a cut in the last few bytes can leave a decodable image. Only
    # single-frame kinds: an animation cut after its first frame still has a whole first frame,
    # which is what the loaders use.
    single = [(name, data) for name, data in goods if not name.endswith((".gif", ".tiff"))]
    for i in range(n):
        _, data = single[int(rng.integers(len(single)))]
        cut = int(rng.integers(1, max(2, len(data) // 2)))
        name = f"truncated/t-{i:04d}.png"
        (corpus.root / "truncated").mkdir(exist_ok=True)
        (corpus.root / name).write_bytes(data[:cut])
        corpus.bad.add(name)


def _write_malformed(corpus: Corpus, rng: np.random.Generator) -> None:
    folder = corpus.root / "bad"
    folder.mkdir()
    for i in range(40):
        (folder / f"empty-{i}.jpg").write_bytes(b"")
        (folder / f"garbage-{i}.png").write_bytes(rng.bytes(int(rng.integers(1, 4000))))
        corpus.bad.update({f"bad/empty-{i}.jpg", f"bad/garbage-{i}.png"})
    for i in range(60):
        side = 20_000 + 997 * i  # 400 million pixels and more: far over the pixel limit
        (folder / f"bomb-{i}.png").write_bytes(bomb_png(side, side))
        corpus.bad.add(f"bad/bomb-{i}.png")
    for i in range(20):  # a real header, then nonsense where the pixels should be
        data = bytearray(_encode(Image.fromarray(np.full((40, 40), i, np.uint8)), "PNG"))
        data[40:] = rng.bytes(len(data) - 40)
        (folder / f"scrambled-{i}.png").write_bytes(bytes(data))
        corpus.bad.add(f"bad/scrambled-{i}.png")


def _write_special_files(corpus: Corpus, rng: np.random.Generator) -> None:
    root = corpus.root
    special = root / "special"
    special.mkdir()
    for i in range(5):
        os.mkfifo(special / f"fifo-{i}.png")
        corpus.bad.add(f"special/fifo-{i}.png")
    os.symlink("/dev/zero", special / "zero.png")
    os.symlink(special / "nowhere.png.gone", special / "broken.png")
    corpus.bad.update({"special/zero.png", "special/broken.png"})
    # A folder named like an image holds a good file; a link to a good file outside is good.
    (special / "folder.png").mkdir()
    _, data = good_image(1, rng)
    (special / "folder.png" / "inside.png").write_bytes(data)
    outside = root.parent / f"{root.name}-outside.png"
    outside.write_bytes(good_image(0, rng)[1])
    os.symlink(outside, special / "link-to-outside.png")
    corpus.good.update({"special/folder.png/inside.png", "special/link-to-outside.png"})
    (special / "notes.txt").write_text("not an image, and not named like one: ignored")


def _write_archives(corpus: Corpus, rng: np.random.Generator) -> None:
    folder = corpus.root / "archives"
    folder.mkdir()
    with zipfile.ZipFile(folder / "set.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(30):
            archive.writestr(f"inner/z-{i:02d}.png", good_image(i, rng)[1])
            corpus.good.add(f"archives/set.zip/inner/z-{i:02d}.png")
        archive.writestr("inner/empty.png", b"")
        corpus.bad.add("archives/set.zip/inner/empty.png")
    (folder / "corrupt.zip").write_bytes(b"PK\x03\x04 this is not really a zip" + rng.bytes(500))
    corpus.bad.add("archives/corrupt.zip")
    write_zip_bomb(folder / "bomb.zip", good=good_image(3, rng)[1])
    corpus.good.add("archives/bomb.zip/a-good.jpg")
    corpus.bad.add("archives/bomb.zip/zeros.png")


def write_zip_bomb(path: Path, good: bytes | None = None, size: int = BOMB_MEMBER_BYTES) -> None:
    """A zip whose member ``zeros.png`` unpacks to ``size`` zero bytes (about 1 MiB packed).

    Written in pieces, so making it does not need the gigabyte in memory; and each 16 MiB piece
    is compressed once (a deflate stream flushed in full references nothing before it, so the
    same bytes stand for every piece): a second, not the ten a compressor takes on a gigabyte.
    """
    block = b"\0" * (16 * 1024 * 1024)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        if good is not None:
            archive.writestr("a-good.jpg", good)
        with archive.open("zeros.png", "w", force_zip64=True) as member:
            member._compressor = _RepeatedBlock(block)  # type: ignore[attr-defined]
            for _ in range(size // len(block)):
                member.write(block)
            remainder = size % len(block)
            if remainder:
                member._compressor = zlib.compressobj(9, zlib.DEFLATED, -15)  # type: ignore[attr-defined]
                member.write(block[:remainder])


class _RepeatedBlock:
    """A raw deflate compressor for a stream of one repeated block (what ``zipfile`` calls)."""

    def __init__(self, block: bytes) -> None:
        self.block = block
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        self.packed = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)

    def compress(self, data: bytes) -> bytes:
        assert data == self.block
        return self.packed

    def flush(self, mode: int = zlib.Z_FINISH) -> bytes:
        return zlib.compressobj(9, zlib.DEFLATED, -15).flush()  # the final, empty block
