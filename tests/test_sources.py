import base64
from pathlib import Path

import pytest
from http_fixtures import body, redirect, serve

from mcp_docvl.config import Settings
from mcp_docvl.errors import AccessDenied, FetchError, InvalidArgument, LimitExceeded, SourceNotFound, UnsupportedFormat
from mcp_docvl.samples import Text, make_pdf
from mcp_docvl.sources import load_source
from mcp_docvl.sources.media import sniff_media_type

PDF = make_pdf([[Text(72, 72, "Hello sources")]])


def test_local_file_under_root(tmp_path: Path):
    (tmp_path / "a.pdf").write_bytes(PDF)
    source = load_source("a.pdf", Settings.from_env(roots=[tmp_path]))
    assert source.media_type == "application/pdf"
    assert source.data == PDF
    assert len(source.sha256) == 64 and source.doc_id == source.sha256[:16]


def test_path_outside_roots_is_refused(tmp_path: Path):
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "secret.pdf").write_bytes(PDF)
    settings = Settings.from_env(roots=[root])
    for spec in [str(tmp_path / "secret.pdf"), "../secret.pdf", f"file://{tmp_path / 'secret.pdf'}"]:
        with pytest.raises(AccessDenied) as info:
            load_source(spec, settings)
        assert "outside the allowed roots" in str(info.value) and "--root" in str(info.value)


def test_symlink_escaping_root_is_refused(tmp_path: Path):
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "secret.pdf").write_bytes(PDF)
    (root / "link.pdf").symlink_to(tmp_path / "secret.pdf")
    with pytest.raises(AccessDenied):
        load_source("link.pdf", Settings.from_env(roots=[root]))


def test_missing_file_and_directory(tmp_path: Path):
    settings = Settings.from_env(roots=[tmp_path])
    with pytest.raises(SourceNotFound, match=r"No file at 'nope\.pdf'"):
        load_source("nope.pdf", settings)
    (tmp_path / "dir").mkdir()
    with pytest.raises(InvalidArgument, match="is a directory"):
        load_source("dir", settings)
    with pytest.raises(InvalidArgument, match="NUL byte"):
        load_source("a\x00b.pdf", settings)


def test_size_limit_on_files(tmp_path: Path):
    (tmp_path / "a.pdf").write_bytes(PDF)
    with pytest.raises(LimitExceeded, match="over the limit of 100 bytes"):
        load_source("a.pdf", Settings.from_env(roots=[tmp_path], max_bytes=100))


def test_inline_data_uri_and_base64(tmp_path: Path):
    settings = Settings.from_env(roots=[tmp_path])
    encoded = base64.b64encode(PDF).decode()
    for spec in [f"data:application/pdf;base64,{encoded}", encoded, f"base64:{encoded}"]:
        source = load_source(spec, settings)
        assert source.data == PDF and source.name == "inline data"
    with pytest.raises(InvalidArgument, match="not valid base64"):
        load_source("data:application/pdf;base64,@@@@", settings)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"%PDF-1.7\n...", "application/pdf"),
        (b"junk before %PDF-1.4", "application/pdf"),
        (b"\x89PNG\r\n\x1a\n....", "image/png"),
        (b"\xff\xd8\xff\xe0....", "image/jpeg"),
        (b"II*\x00....", "image/tiff"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"BM......", "image/bmp"),
    ],
)
def test_media_type_is_sniffed_from_content(data, expected):
    assert sniff_media_type(data) == expected


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"PK\x03\x04rest", "ZIP container"),
        (b"<!DOCTYPE html><html>", "HTML page"),
        (b"just some text", "not a PDF or a supported image"),
    ],
)
def test_unknown_formats_are_named(data, message):
    with pytest.raises(UnsupportedFormat, match=message):
        sniff_media_type(data)


def test_url_fetch_over_loopback(tmp_path: Path):
    settings = Settings.from_env(roots=[tmp_path], allow_private_urls=True)
    with serve({"/doc.pdf": body(PDF), "/moved": redirect("/doc.pdf")}) as base:
        assert load_source(f"{base}/doc.pdf", settings).data == PDF
        source = load_source(f"{base}/moved", settings)
        assert source.data == PDF and source.origin == "url"
        with pytest.raises(FetchError, match="HTTP 404"):
            load_source(f"{base}/missing.pdf", settings)
        with pytest.raises(LimitExceeded, match="over the limit"):
            load_source(f"{base}/doc.pdf", Settings.from_env(roots=[tmp_path], allow_private_urls=True, max_bytes=64))


def test_loopback_urls_are_refused_by_default(tmp_path: Path):
    with serve({"/doc.pdf": body(PDF)}) as base, pytest.raises(AccessDenied, match="private or internal address"):
        load_source(f"{base}/doc.pdf", Settings.from_env(roots=[tmp_path]))


def test_unreachable_url_says_so(tmp_path: Path):
    settings = Settings.from_env(roots=[tmp_path], allow_private_urls=True)
    settings.fetch_connect_timeout = 2
    with pytest.raises(FetchError, match="failed"):
        load_source("http://127.0.0.1:9/doc.pdf", settings)
    with pytest.raises(AccessDenied, match="scheme 'ftp' is not allowed"):
        load_source("ftp://example.com/a.pdf", settings)
