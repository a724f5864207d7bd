"""A second, real Mosquitto for the security tests: started on free ports with a certificate
authority made by openssl, one TLS listener that requires a client certificate (its CN is the
device identity) and one plain listener that requires a username and password."""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SecureBroker:
    tls_port: int
    password_port: int
    ca: Path
    client_cert: Path
    client_key: Path
    username: str = "device"
    password: str = "s3cret"


def available() -> str | None:
    """Why the secure broker cannot run here (None: it can)."""
    for tool in ("mosquitto", "openssl", "mosquitto_passwd"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certificates(folder: Path) -> None:
    """ca.crt, server.crt / server.key (for 127.0.0.1), client.crt / client.key (CN pump-7)."""
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
             "/CN=twin-test-ca", "-keyout", "ca.key", "-out", "ca.crt", cwd=folder)  # fmt: skip
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name, subject, extra in (
        ("server", "/CN=127.0.0.1", ["-extfile", "san.ext"]),
        ("client", "/CN=pump-7", []),
    ):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", subject,
                 "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=folder)  # fmt: skip
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                 "-CAcreateserial", "-days", "2", "-out", f"{name}.crt", *extra,
                 cwd=folder)  # fmt: skip


@contextmanager
def secure_broker(folder: Path) -> Iterator[SecureBroker]:
    make_certificates(folder)
    broker = SecureBroker(_free_port(), _free_port(), folder / "ca.crt",
                          folder / "client.crt", folder / "client.key")  # fmt: skip
    passwords = folder / "passwords"
    subprocess.run(
        ["mosquitto_passwd", "-b", "-c", str(passwords), broker.username, broker.password],
        check=True,
        capture_output=True,
    )
    (folder / "mosquitto.conf").write_text(
        f"""per_listener_settings true
user {getpass.getuser()}
listener {broker.tls_port} 127.0.0.1
cafile {folder}/ca.crt
certfile {folder}/server.crt
keyfile {folder}/server.key
require_certificate true
use_identity_as_username true
allow_anonymous false
listener {broker.password_port} 127.0.0.1
password_file {passwords}
allow_anonymous false
"""
    )
    log = folder / "mosquitto.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["mosquitto", "-c", str(folder / "mosquitto.conf")],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", broker.password_port), 0.2).close()
                break
            except OSError:
                if process.poll() is not None:
                    why = log.read_text()
                    raise RuntimeError(f"mosquitto did not start: {why}") from None
                time.sleep(0.05)
        yield broker
    finally:
        process.terminate()
        process.wait(10)
