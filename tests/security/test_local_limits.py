"""Local holes: hard links out of a root, `~user` paths, NUL bytes in passwords. Each refusal names the problem and
the knob, and the same server then reads normally."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hostile import EVAL, SAMPLE, assert_serves, make_server, refused_then_ok
from mcp import Client


@pytest.fixture
def linked(tmp_path: Path) -> Path:
    """root/inner.pdf is a hard link to outside/secret.pdf (outside every root)."""
    (tmp_path / "root").mkdir()
    (tmp_path / "outside").mkdir()
    secret = tmp_path / "outside" / "secret.pdf"
    shutil.copy(SAMPLE, secret)
    os.link(secret, tmp_path / "root" / "inner.pdf")
    return tmp_path / "root"


@pytest.mark.parametrize("spelling", ["inner.pdf", "{root}/inner.pdf", "file://{root}/inner.pdf", "./sub/../inner.pdf"])
async def test_hard_link_to_a_file_outside_the_roots_is_refused(linked: Path, spelling: str):
    (linked / "sub").mkdir(exist_ok=True)
    text = await refused_then_ok(make_server([linked]), {"source": spelling.format(root=linked)}, "2 hard links")
    assert "--allow-hard-links" in text


async def test_hard_links_are_read_when_the_operator_allows_them(linked: Path):
    async with Client(make_server([linked], allow_hard_links=True)) as client:
        result = await client.call_tool("read_document", {"source": "inner.pdf", "pages": "2", "format": "text"})
        assert not result.is_error and "1,234.56 EUR" in result.content[0].text
        await assert_serves(client)


@pytest.mark.parametrize("spec", ["~nosuchuser-docvl/doc.pdf", "~nosuchuser-docvl", "file://~nosuchuser-docvl/x.pdf"])
async def test_unknown_user_home_is_a_clear_error(tmp_path: Path, spec: str):
    text = await refused_then_ok(make_server([tmp_path]), {"source": spec},
                                 "no home directory|on other hosts|No file at")
    assert "Internal error" not in text


@pytest.mark.parametrize("password", ["\x00", "test\x00anything", "x\x00"])
async def test_password_with_nul_is_refused_not_truncated(tmp_path: Path, password: str):
    await refused_then_ok(make_server([tmp_path]), {"source": SAMPLE, "password": password}, "NUL character")


async def test_password_with_nul_does_not_open_an_encrypted_pdf_by_its_prefix(tmp_path: Path):
    """password-example.pdf opens with "test": "test\\0..." used to open it too (PDFium read up to the NUL)."""
    encrypted = EVAL / "realworld-pdfs" / "password-example.pdf"
    if not encrypted.is_file():
        pytest.skip(f"evaluation file {encrypted} is absent")
    server = make_server([tmp_path, encrypted.parent])
    await refused_then_ok(server, {"source": str(encrypted), "password": "test\x00wrong"}, "NUL character")
    async with Client(server) as client:
        result = await client.call_tool("read_document", {"source": str(encrypted), "password": "test"})
        assert not result.is_error, result.content[0].text
