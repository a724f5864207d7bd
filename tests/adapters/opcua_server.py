"""A real asyncua OPC UA server, in this process, for the adapter tests: a pump with variables
(speed, temperature, status, a writable setpoint), a method, security policies None and
Basic256Sha256 (Sign and SignAndEncrypt, certificates made with asyncua's own generator) and
a user manager that accepts anonymous users and operator / pw."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asyncua import ua
from asyncua.common.node import Node
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.server.server import Server
from asyncua.server.user_managers import UserManager
from cryptography.x509.oid import ExtendedKeyUsageOID

NS_URI = "urn:twin-server:test"


@dataclass
class PumpServer:
    url: str
    server: Server
    speed: Node
    temperature: Node
    status: Node
    setpoint: Node
    pump: Node
    reset_calls: list[Any]
    client_cert: Path
    client_key: Path
    server_cert: Path


class Users(UserManager):
    def get_user(
        self, iserver: Any, username: Any = None, password: Any = None, certificate: Any = None
    ) -> User | None:
        if username is None:
            return User(role=UserRole.User)
        if username == "operator" and password == "pw":
            return User(role=UserRole.User)
        return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def certificates(folder: Path) -> tuple[Path, Path, Path, Path]:
    """server.der / server.pem and client.der / client.pem (self-signed, for 127.0.0.1)."""
    server_key, server_cert = folder / "server.pem", folder / "server.der"
    client_key, client_cert = folder / "client.pem", folder / "client.der"
    await setup_self_signed_certificate(
        server_key, server_cert, "urn:twin-server:test:server", "127.0.0.1",
        [ExtendedKeyUsageOID.SERVER_AUTH], {"commonName": "test server"},
    )  # fmt: skip
    await setup_self_signed_certificate(
        client_key, client_cert, "urn:twin-server:client", "127.0.0.1",
        [ExtendedKeyUsageOID.CLIENT_AUTH], {"commonName": "twin server"},
    )  # fmt: skip
    return server_key, server_cert, client_key, client_cert


@asynccontextmanager
async def pump_server(folder: Path, port: int | None = None) -> AsyncIterator[PumpServer]:
    port = port or free_port()
    folder.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - a test fixture, once
    server_key, server_cert, client_key, client_cert = await certificates(folder)
    server = Server(user_manager=Users())
    await server.init()
    url = f"opc.tcp://127.0.0.1:{port}/test/"
    server.set_endpoint(url)
    server.set_security_policy(
        [
            ua.SecurityPolicyType.NoSecurity,
            ua.SecurityPolicyType.Basic256Sha256_Sign,
            ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt,
        ]
    )
    await server.load_certificate(str(server_cert))
    await server.load_private_key(str(server_key))
    ns = await server.register_namespace(NS_URI)
    pump = await server.nodes.objects.add_object(
        ua.NodeId("Pump1", ns), ua.QualifiedName("Pump1", ns)
    )
    speed = await pump.add_variable(
        ua.NodeId("Pump1.Speed", ns), ua.QualifiedName("Speed", ns), 1450.0
    )
    temperature = await pump.add_variable(
        ua.NodeId("Pump1.Temperature", ns), ua.QualifiedName("Temperature", ns), 20.0
    )
    status = await pump.add_variable(
        ua.NodeId("Pump1.Status", ns), ua.QualifiedName("Status", ns), "idle"
    )
    await pump.add_variable(  # a value no twin attribute can hold (raw bytes)
        ua.NodeId("Pump1.Raw", ns),
        ua.QualifiedName("Raw", ns),
        ua.Variant(b"\x00\x01", ua.VariantType.ByteString),
    )
    setpoint = await pump.add_variable(
        ua.NodeId("Pump1.Setpoint", ns), ua.QualifiedName("Setpoint", ns), 0.0
    )
    await setpoint.set_writable()
    calls: list[Any] = []

    async def reset(parent: Any, *args: Any) -> list[ua.Variant]:
        calls.append([a.Value for a in args])
        return [ua.Variant(True, ua.VariantType.Boolean)]

    await pump.add_method(
        ua.NodeId("Pump1.Reset", ns), ua.QualifiedName("Reset", ns), reset,
        [ua.VariantType.Double], [ua.VariantType.Boolean],
    )  # fmt: skip
    async with server:
        yield PumpServer(
            url, server, speed, temperature, status, setpoint, pump, calls,
            client_cert, client_key, server_cert,
        )  # fmt: skip
