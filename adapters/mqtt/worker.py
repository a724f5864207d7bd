"""The MQTT adapter's worker process: one per broker connection, so that the paho client, its
network thread and the routing and conversion of every message run beside the server, not
in its process (measured: they took about 40% of the server's GIL under a flood).

It reads frames (``frames.py``) on stdin: ``bindings`` (the connection's bindings, their
documents), ``publish`` (a command) and ``stop``; and writes frames on stdout: ``state``
(connected or not, and why), ``batch`` (readings, rejections and command results, every
couple of milliseconds) and ``published`` (a command's broker acknowledgement, or why not).
When the server stops reading, the writes block, the batch fills, paho's thread holds back
and the broker holds (QoS 1) or drops (QoS 0) messages: back-pressure, end to end.
"""

from __future__ import annotations

import logging
import ssl
import sys
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from typing import IO, Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from twin_server.adapters.bindings import Binding, parse_binding
from twin_server.adapters.convert import Rejected, attributes
from twin_server.adapters.templates import TemplateError
from twin_server.core.timeutil import now_iso

from .buffered import BufferedClient
from .frames import frame, read_frame
from .mapping import ConnectionConfig, Match, Source, connection_config, decode, source_of
from .properties import install as install_shared_properties

log = logging.getLogger("twin_server.adapters.mqtt.worker")
FLUSH = 0.002  # seconds between two batches
MAX_BATCH = 5000  # readings gathered before paho's thread waits for the next batch to go
PUBLISH_TIMEOUT = 10.0


class Worker:
    def __init__(self, out: IO[bytes], documents: list[Any]) -> None:
        self.out = out
        self.write_lock = threading.Lock()
        self.lock = threading.Lock()
        self.bindings: list[tuple[Binding, Source]] = []
        self.filters: dict[str, int] = {}
        self.connected = False
        self.readings: list[Any] = []
        self.rejected: list[Any] = []
        self.results: list[Any] = []
        self.messages = 0
        self.unrouted = 0
        self.awaiting: defaultdict[tuple[str, str, str], deque[str]] = defaultdict(deque)
        self.stopping = threading.Event()
        parsed = [parse_binding(d) for d in documents]
        self.config: ConnectionConfig = connection_config(parsed[0])
        self.client = self._client(self.config)
        self.set_bindings(documents)

    def _client(self, config: ConnectionConfig) -> paho.Client:
        v5 = config.version == "5"
        client = BufferedClient(
            CallbackAPIVersion.VERSION2,
            client_id=config.client_id,
            protocol=MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311,
            clean_session=None if v5 else config.clean_start,
        )
        if config.username is not None:
            client.username_pw_set(config.username, config.password)
        if config.tls:
            client.tls_set(
                ca_certs=config.ca_file,
                certfile=config.cert_file,
                keyfile=config.key_file,
                cert_reqs=ssl.CERT_REQUIRED,
            )
        client.reconnect_delay_set(1, 30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_qos0 = self._arrived
        client.on_connect_fail = self._on_connect_fail
        return client

    def start(self) -> None:
        properties = None
        if self.config.version == "5":
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = self.config.session_expiry
        self.client.connect_async(
            self.config.host,
            self.config.port,
            keepalive=self.config.keepalive,
            clean_start=self.config.clean_start if self.config.version == "5" else 3,
            properties=properties,
        )
        self.client.loop_start()
        threading.Thread(target=self._flush_loop, name="mqtt-flush", daemon=True).start()

    def stop(self) -> None:
        self.stopping.set()
        self.client.disconnect()
        self.client.loop_stop()
        self._flush()

    def set_bindings(self, documents: list[Any]) -> None:
        bindings = []
        for document in documents:
            binding = parse_binding(document)
            bindings.append((binding, source_of(binding)))
        wanted: dict[str, int] = {}
        for _, source in bindings:
            for topic in source.filters():
                shared = self._shared(topic)
                wanted[shared] = max(wanted.get(shared, 0), source.qos)
        gone = [t for t in self.filters if t not in wanted]
        added = [(t, q) for t, q in wanted.items() if self.filters.get(t) != q]
        with self.lock:
            self.bindings = bindings
            self.filters = wanted
        if self.connected:
            if gone:
                self.client.unsubscribe(gone)
            if added:
                self.client.subscribe(added)

    def publish(self, message: dict[str, Any]) -> None:
        wait = message.get("await")
        if wait is not None:
            binding_id, device, command, execution = wait
            with self.lock:
                self.awaiting[(binding_id, device, command)].append(execution)
        info = self.client.publish(message["topic"], message["payload"].encode(), message["qos"])
        if info.rc != paho.MQTT_ERR_SUCCESS:
            error = f"publish to {message['topic']} failed: {paho.error_string(info.rc)}"
            self.send({"k": "published", "id": message["id"], "error": error})
            return
        if not message["qos"]:
            self.send({"k": "published", "id": message["id"], "error": None})
            return

        def acknowledged() -> None:
            info.wait_for_publish(PUBLISH_TIMEOUT)
            error = None
            if not info.is_published():
                error = f"the broker did not acknowledge the command on {message['topic']}"
            self.send({"k": "published", "id": message["id"], "error": error})

        threading.Thread(target=acknowledged, daemon=True).start()

    def send(self, message: Any) -> None:
        data = frame(message)
        with self.write_lock:
            self.out.write(data)
            self.out.flush()

    def _shared(self, topic: str) -> str:
        group = self.config.shared_group
        return f"$share/{group}/{topic}" if group else topic

    # paho's thread ---------------------------------------------------------------------------

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            self.send({"k": "state", "connected": False, "error": f"connect refused: {reason}"})
            return
        if self.filters:
            client.subscribe(list(self.filters.items()))
        self.connected = True
        self.send({"k": "state", "connected": True, "error": None})

    def _on_connect_fail(self, client: Any, userdata: Any) -> None:
        config = self.config
        error = f"cannot connect to {config.host}:{config.port} (refused, TLS, network)"
        self.send({"k": "state", "connected": False, "error": error})

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: Any, p: Any) -> None:
        self.connected = False
        error = None if reason == 0 or not reason.is_failure else f"disconnected: {reason}"
        self.send({"k": "lost", "error": error})

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        self._arrived(message._topic, message.payload)  # the topic as sent: decoded below

    def _arrived(self, topic: bytes, payload: bytes) -> None:
        """A message, from paho or from the client's own QoS 0 path."""
        while len(self.readings) >= MAX_BATCH and not self.stopping.is_set():
            time.sleep(FLUSH)  # back-pressure: the server has not taken the last batch
        with self.lock:
            self.messages += 1
            try:
                name = topic.decode()
            except UnicodeDecodeError:
                self.unrouted += 1
                self.rejected.append((None, repr(topic), "the topic is not UTF-8"))
                return
            self._route(name, payload, now_iso)

    def _route(self, topic: str, payload: bytes, received: Callable[[], str]) -> None:
        routed = False
        for binding, source in self.bindings:
            match = source.match(topic)
            if match is None:
                continue
            routed = True
            try:
                if match.kind == "response":
                    self._response(binding, source, match, payload)
                else:
                    document = decode(payload, match)
                    values = attributes(binding.attributes, document, received)
                    twin_id = binding.twin_template.fill(match.names)
                    self.readings.append((binding.id, twin_id, values))
            except (Rejected, KeyError, TemplateError) as exc:
                self.rejected.append((binding.id, topic, str(exc)))
        if not routed:
            self.unrouted += 1
            self.rejected.append((None, topic, "no binding maps this topic"))

    def _response(self, binding: Binding, source: Source, match: Match, payload: bytes) -> None:
        document = decode(payload, Match(match.names, "attrs"))
        if source.format == "iota-json":
            for command, result in document.items():
                queue = self.awaiting.get((binding.id, match.names["deviceId"], command))
                if not queue:
                    raise Rejected(f"an answer to {command}, which no execution awaits")
                failed = isinstance(result, dict) and "error" in result
                self.results.append((queue.popleft(), "failed" if failed else "succeeded", result))
            return
        execution = document.get("id")
        status = document.get("status", "succeeded")
        if not isinstance(execution, str) or status not in ("succeeded", "failed"):
            raise Rejected('a command answer is {"id": …, "status": "succeeded" | "failed"}')
        self.results.append((execution, status, document.get("response")))

    # the flusher's thread --------------------------------------------------------------------

    def _flush_loop(self) -> None:
        while not self.stopping.wait(FLUSH):
            self._flush()

    def _flush(self) -> None:
        with self.lock:
            if not (self.readings or self.rejected or self.results or self.messages):
                return
            batch = {
                "k": "batch",
                "r": self.readings,
                "x": self.rejected,
                "c": self.results,
                "n": self.messages,
                "u": self.unrouted,
            }
            self.readings, self.rejected, self.results = [], [], []
            self.messages = self.unrouted = 0
        self.send(batch)  # blocks while the server is not reading: back-pressure


def main() -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    out, inp = sys.stdout.buffer, sys.stdin.buffer
    sys.stdout = sys.stderr  # the frame stream is the worker's alone
    install_shared_properties()
    first = read_frame(inp)
    if first is None or first.get("op") != "bindings" or not first.get("bindings"):
        print("the MQTT worker starts with its bindings", file=sys.stderr)
        return 2
    worker = Worker(out, first["bindings"])
    worker.start()
    try:
        while True:
            message = read_frame(inp)
            if message is None or message.get("op") == "stop":
                break
            if message["op"] == "bindings":
                worker.set_bindings(message["bindings"])
            elif message["op"] == "publish":
                worker.publish(message)
    finally:
        worker.stop()
    return 0
