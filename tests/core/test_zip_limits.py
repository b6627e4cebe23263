"""ZIP install: bombs, entry floods and lying headers are refused from the central directory, before decompressing.

Also: a dependency cycle with installed modules is refused at install, and a folder or name clash
names the module that holds it. Each refusal leaves the modules folder exactly as it was.
"""

from __future__ import annotations

import io
import struct
import time
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from nxforge.environment import Environment
from nxforge.module_admin.install import install_zip
from nxforge.module_admin.lifecycle import LifecycleError
from nxforge.platform import Platform
from tests.conftest import copy_fixture_module


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    """A platform on SQLite with hello-module installed (the ZIP checks need no second dialect)."""
    for folder in ("config", "data", "modules"):
        (tmp_path / folder).mkdir()
    env = Environment(tmp_path / "config", tmp_path / "data", tmp_path / "modules", f"sqlite:///{tmp_path / 'nx.db'}")
    copy_fixture_module(env, "hello_module")
    created = Platform(env)
    yield created
    created.close()


def manifest(name: str = "greeter", package: str | None = None, requires: list[str] | None = None) -> bytes:
    body = {"name": name, "version": "0.3.0", "display_name": name.title(), "description": "From a ZIP.",
            "author": "someone", "package": package or name.replace("-", "_")}
    if requires:
        body["requires"] = {"core": ">=0.1,<1", "modules": requires}
    return yaml.safe_dump(body).encode()


def zip_of(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def module_zip(top: str = "greeter", **extra: bytes) -> dict[str, bytes]:
    return {f"{top}/manifest.yaml": manifest(top.replace("_", "-"), top), f"{top}/__init__.py": b"", **extra}


def zeros_bomb(size: int) -> bytes:
    """A ZIP whose one entry is ``size`` zero bytes, deflated chunk by chunk (about 1000:1)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("greeter/manifest.yaml", manifest())
        info = zipfile.ZipInfo("greeter/zeros.bin")
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w", force_zip64=True) as entry:
            chunk = b"\0" * (8 * 1024 * 1024)
            for _ in range(size // len(chunk)):
                entry.write(chunk)
    return buffer.getvalue()


def lying_header() -> bytes:
    """A ZIP whose entry says 16 bytes but inflates to a megabyte: both headers patched after writing."""
    content = (b"print('hello')\n" * 70_000)[:1_000_000]
    data = bytearray(zip_of(module_zip(**{"greeter/big.py": content})))
    compressed_len = len(zlib.compress(content)) - 6  # raw deflate is about this long; only the sizes matter
    assert compressed_len > 0
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (found := data.find(signature, start)) != -1:
            name_len = struct.unpack_from("<H", data, found + (26 if signature == b"PK\x03\x04" else 28))[0]
            name_at = found + (30 if signature == b"PK\x03\x04" else 46)
            if bytes(data[name_at:name_at + name_len]) == b"greeter/big.py":
                struct.pack_into("<I", data, found + offset, 16)  # uncompressed size
            start = found + 4
    return bytes(data)


def _many(count: int) -> dict[str, bytes]:
    return {**module_zip(), **{f"greeter/data/{i:06d}.txt": b"" for i in range(count)}}


# name -> (ZIP bytes maker, message); each is refused and the modules folder is left as it was.
CASES = {
    "a 256 MiB bomb of zeros in 260 KB": (lambda: zeros_bomb(256 * 1024 ** 2), r"declares 268,435,456 bytes"),
    "ratios of 1000 in small entries": (
        lambda: zip_of({**module_zip(), **{f"greeter/z{i}.bin": b"\0" * 200_000 for i in range(20)}}),
        r"would expand .* times"),
    "100,000 entries": (lambda: zip_of(_many(100_000), zipfile.ZIP_STORED), r"100,00\d entries, over 2,000"),
    "2,001 entries": (lambda: zip_of(_many(1_999), zipfile.ZIP_STORED), r"2,001 entries, over 2,000"),
    "a lying header": (lying_header, r"corrupt"),
    "the same entry twice": (lambda: _twice(), r"in the ZIP twice"),
    "a backslash path": (lambda: zip_of({**module_zip(), "greeter\\..\\..\\evil.py": b"x"}), r"absolute path"),
    "a name too long": (lambda: zip_of({**module_zip(), "greeter/" + "x" * 300: b"x"}), r"longer than 255"),
    "a 40 MB manifest of comments": (lambda: zip_of({"greeter/manifest.yaml": b"#" * (40 * 1024 ** 2)}),
                                     r"at most 1,048,576"),  # read 1 MiB + 1 byte at most, whatever it claims
    "not a ZIP": (lambda: b"PK\x03\x04 this is not a zip at all", r"not a readable ZIP"),
}


def _twice() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in module_zip().items():
            archive.writestr(name, content)
        with pytest.warns(UserWarning, match="Duplicate name"):
            archive.writestr("greeter/__init__.py", b"import os; os.system('evil')")
    return buffer.getvalue()


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_zips_are_refused_before_decompressing(case: str, platform: Platform, tmp_path: Path) -> None:
    make, message = CASES[case]
    archive = tmp_path / "hostile.zip"
    archive.write_bytes(make())
    before = sorted(p.name for p in platform.env.modules_dir.iterdir())
    started = time.monotonic()
    with pytest.raises(LifecycleError, match=message):
        install_zip(platform, archive, "tester")
    assert time.monotonic() - started < 3, "refused only after a long time: decompressed first?"
    assert sorted(p.name for p in platform.env.modules_dir.iterdir()) == before  # no staging left behind


def test_a_zip_file_over_the_size_limit_is_refused_unopened(platform: Platform, tmp_path: Path) -> None:
    archive = tmp_path / "huge.zip"
    with archive.open("wb") as handle:
        handle.truncate(51 * 1024 * 1024)  # sparse: no disk used, never read
    with pytest.raises(LifecycleError, match=r"over 52,428,800"):
        install_zip(platform, archive, "tester")


def test_a_dependency_cycle_is_refused_at_install(platform: Platform, tmp_path: Path) -> None:
    first = tmp_path / "greeter.zip"
    first.write_bytes(zip_of({"greeter/manifest.yaml": manifest("greeter", requires=["echo"]),
                              "greeter/__init__.py": b""}))
    install_zip(platform, first, "tester")  # echo is not installed yet: nothing to refuse
    second = tmp_path / "echo.zip"
    second.write_bytes(zip_of({"echo/manifest.yaml": manifest("echo", requires=["greeter"]), "echo/__init__.py": b""}))
    with pytest.raises(LifecycleError, match=r"dependency cycle with installed modules: echo -> greeter -> echo"):
        install_zip(platform, second, "tester")
    assert not (platform.env.modules_dir / "echo").exists()


def test_a_folder_clash_names_the_module_that_holds_the_folder(platform: Platform, tmp_path: Path) -> None:
    archive = tmp_path / "clash.zip"
    archive.write_bytes(zip_of({"hello_module/manifest.yaml": manifest("other-name", "hello_module"),
                                "hello_module/__init__.py": b""}))
    with pytest.raises(LifecycleError, match=r"folder 'hello_module' is already used by module 'hello-module'"):
        install_zip(platform, archive, "tester")
    named = tmp_path / "named.zip"
    named.write_bytes(zip_of({"greeter2/manifest.yaml": manifest("hello-module", "greeter2"),
                              "greeter2/__init__.py": b""}))
    clash = r"module named 'hello-module' is already installed \(folder 'hello_module'\)"
    with pytest.raises(LifecycleError, match=clash):
        install_zip(platform, named, "tester")


def test_a_normal_module_still_installs(platform: Platform, tmp_path: Path) -> None:
    archive = tmp_path / "greeter.zip"
    archive.write_bytes(zip_of(module_zip(**{"greeter/readme.txt": b"hello " * 5000})))  # ratio ~1000, but small
    info = install_zip(platform, archive, "tester")
    assert info.name == "greeter" and (platform.env.modules_dir / "greeter" / "readme.txt").stat().st_size == 30000
