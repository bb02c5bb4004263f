"""MNIST download path over a real loopback HTTP server (no mocks of urllib)."""

import gzip
import hashlib
import http.server
import os
import socket
import sys
import threading

import numpy as np
import pytest

from tapeflow.datasets import MNIST_FILES, DownloadError, default_data_dir, download_file, mnist
from tapeflow.datasets.idx import write_idx

# the function tapeflow.datasets.mnist shadows its module; patch the module itself
mnist_module = sys.modules["tapeflow.datasets.mnist"]


def _small_mnist(tmp_path):
    """Small valid IDX .gz files under the MNIST names, and their MD5 table."""
    rng = np.random.default_rng(0)
    src = tmp_path / "src"
    src.mkdir()
    shapes = [(6, 28, 28), (6,), (3, 28, 28), (3,)]
    files, table = {}, {}
    for name, shape in zip(MNIST_FILES, shapes, strict=True):
        high = 256 if len(shape) == 3 else 10
        write_idx(src / name, rng.integers(0, high, shape, dtype=np.uint8))
        raw = (src / name).read_bytes()
        files[name] = raw
        table[name] = hashlib.md5(gzip.decompress(raw)).hexdigest()
    return files, table


class _Server:
    """An http.server on 127.0.0.1 (port 0) serving a dict of path -> bytes."""

    def __init__(self, routes):
        self.routes = routes
        self.requests = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests.append(self.path)
                body = outer.routes.get(self.path)
                if body is None:
                    self.send_error(404, "Not Found")
                    return
                if isinstance(body, tuple):  # ("cut", bytes): promise more than we send
                    _, data = body
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(data) * 2))
                    self.end_headers()
                    self.wfile.write(data)
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


def _dead_url():
    """A loopback URL on a port nothing listens on (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist/"


def _leftovers(directory):
    if not directory.exists():  # (a failed download makes no directory)
        return []
    return sorted(p for p in os.listdir(directory) if p.endswith(".part") or p.startswith("."))


def test_download_success_then_cached(tmp_path):
    files, table = _small_mnist(tmp_path)
    dest = tmp_path / "data"
    with _Server({f"/mnist/{n}": b for n, b in files.items()}) as srv:
        x, y, xt, yt = mnist(dest, mirrors=[srv.url + "/mnist/"], checksums=table, timeout=10)
        assert len(srv.requests) == 4
        assert x.shape == (6, 28, 28) and x.dtype == np.uint8 and y.shape == (6,)
        assert xt.shape == (3, 28, 28) and yt.shape == (3,)
        for name in MNIST_FILES:
            assert (dest / name).read_bytes() == files[name]  # stored exactly as served
        assert _leftovers(dest) == []
        again = mnist(dest, mirrors=[srv.url + "/mnist/"], checksums=table, timeout=10)
        assert len(srv.requests) == 4  # second call reads the local files
        np.testing.assert_array_equal(again.train_images, x)


def test_checksum_mismatch_names_file_url_and_manual_fix(tmp_path):
    files, table = _small_mnist(tmp_path)
    wrong = dict(table, **{MNIST_FILES[0]: "0" * 32})
    dest = tmp_path / "data"
    with _Server({f"/m/{n}": b for n, b in files.items()}) as srv:
        with pytest.raises(DownloadError) as info:
            mnist(dest, mirrors=[srv.url + "/m/"], checksums=wrong, timeout=10)
    msg = str(info.value)
    assert MNIST_FILES[0] in msg
    assert f"{srv.url}/m/{MNIST_FILES[0]}" in msg
    assert "checksum mismatch" in msg and "0" * 32 in msg and table[MNIST_FILES[0]] in msg
    assert "by hand" in msg and str(dest) in msg
    assert not (dest / MNIST_FILES[0]).exists()
    assert _leftovers(dest) == []


def test_dead_first_mirror_then_good_second(tmp_path):
    files, table = _small_mnist(tmp_path)
    dest = tmp_path / "data"
    with _Server({f"/good/{n}": b for n, b in files.items()}) as srv:
        data = mnist(dest, mirrors=[_dead_url(), srv.url + "/good/"], checksums=table, timeout=10)
    assert data.train_labels.shape == (6,)
    assert sorted(os.listdir(dest)) == sorted(MNIST_FILES)


def test_404_on_every_mirror(tmp_path):
    files, table = _small_mnist(tmp_path)
    dest = tmp_path / "data"
    dead = _dead_url()
    with _Server({}) as srv:
        with pytest.raises(DownloadError) as info:
            mnist(dest, mirrors=[srv.url + "/a/", dead], checksums=table, timeout=10)
    msg = str(info.value)
    assert f"{srv.url}/a/{MNIST_FILES[0]}" in msg and "404" in msg
    assert f"{dead}{MNIST_FILES[0]}" in msg and "network error" in msg
    assert "by hand" in msg
    assert not dest.exists()  # a failed download leaves no empty directory behind


def test_a_failed_download_into_nested_missing_directories_leaves_none(tmp_path, monkeypatch):
    # From another directory, a relative path such as benchmarks/data/mnist did not exist:
    # the failure must not leave benchmarks/data/mnist/ behind.
    files, table = _small_mnist(tmp_path)
    monkeypatch.chdir(tmp_path)
    with _Server({}) as srv:
        with pytest.raises(DownloadError):
            mnist("benchmarks/data/mnist", mirrors=[srv.url + "/none/"], checksums=table)
    assert not (tmp_path / "benchmarks").exists()


def test_second_mirror_used_after_404_and_bad_gzip(tmp_path):
    files, table = _small_mnist(tmp_path)
    routes = {f"/ok/{n}": b for n, b in files.items()}
    routes.update({f"/junk/{n}": b"<html>not gzip</html>" for n in files})
    with _Server(routes) as srv:
        mirrors = [srv.url + "/missing/", srv.url + "/junk/", srv.url + "/ok/"]
        path = download_file(MNIST_FILES[1], tmp_path / "d", table[MNIST_FILES[1]], mirrors, 10)
    assert path.read_bytes() == files[MNIST_FILES[1]]


def test_truncated_response_leaves_no_partial_file(tmp_path):
    files, table = _small_mnist(tmp_path)
    name = MNIST_FILES[0]
    dest = tmp_path / "d"
    with _Server({f"/cut/{name}": ("cut", files[name][:100])}) as srv:
        with pytest.raises(DownloadError, match="IncompleteRead|network error|gzip"):
            download_file(name, dest, table[name], [srv.url + "/cut/"], 10)
    assert not dest.exists()


def test_failed_rename_removes_temporary_file(tmp_path, monkeypatch):
    files, table = _small_mnist(tmp_path)
    name = MNIST_FILES[3]
    dest = tmp_path / "d"

    def failing_replace(src, dst):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(mnist_module.os, "replace", failing_replace)
    with _Server({f"/m/{name}": files[name]}) as srv:
        with pytest.raises(OSError, match="disk full"):
            download_file(name, dest, table[name], [srv.url + "/m/"], 10)
    assert not dest.exists()  # made for the write, removed with the temporary file


def test_no_download_raises_with_instructions(tmp_path):
    with pytest.raises(FileNotFoundError, match="download=False.*by hand"):
        mnist(tmp_path, download=False)


@pytest.mark.parametrize("damage", ["cut gzip", "cut idx", "cut plain"])
def test_a_truncated_local_file_says_to_delete_it(tmp_path, damage):
    files, table = _small_mnist(tmp_path)
    for name, raw in files.items():
        (tmp_path / name).write_bytes(raw)
    bad = tmp_path / MNIST_FILES[0]
    content = gzip.decompress(files[MNIST_FILES[0]])
    if damage == "cut gzip":
        bad.write_bytes(files[MNIST_FILES[0]][:200])
    elif damage == "cut idx":  # valid gzip of a cut IDX file (checksums not checked)
        bad.write_bytes(gzip.compress(content[:500]))
    else:  # stored uncompressed, cut short
        bad.unlink()
        (tmp_path / MNIST_FILES[0][: -len(".gz")]).write_bytes(content[:500])
    checks = table if damage == "cut gzip" else dict.fromkeys(table)
    with pytest.raises(ValueError, match="truncated.*Delete it to download it again"):
        mnist(tmp_path, checksums=checks, mirrors=[])


def test_damaged_local_file_is_reported(tmp_path):
    files, table = _small_mnist(tmp_path)
    for name, raw in files.items():
        (tmp_path / name).write_bytes(raw)
    bad = dict(table, **{MNIST_FILES[2]: "f" * 32})
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte.gz: checksum mismatch"):
        mnist(tmp_path, download=False, checksums=bad)


def test_default_directory_lookup(tmp_path, monkeypatch):
    monkeypatch.setenv("TAPEFLOW_DATA_DIR", str(tmp_path / "root"))
    assert default_data_dir() == tmp_path / "root" / "mnist"
    monkeypatch.delenv("TAPEFLOW_DATA_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert default_data_dir() == tmp_path / "cache" / "tapeflow" / "mnist"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_data_dir() == tmp_path / "home" / ".cache" / "tapeflow" / "mnist"


def test_env_dir_used_when_no_data_dir(tmp_path, monkeypatch):
    files, table = _small_mnist(tmp_path)
    (tmp_path / "root" / "mnist").mkdir(parents=True)
    for name, raw in files.items():
        (tmp_path / "root" / "mnist" / name).write_bytes(raw)
    monkeypatch.setenv("TAPEFLOW_DATA_DIR", str(tmp_path / "root"))
    data = mnist(download=False, checksums=table)
    assert data.test_images.shape == (3, 28, 28)
