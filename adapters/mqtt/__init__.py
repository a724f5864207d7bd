"""The MQTT adapter (loaded by path as ``twin_server_adapters.mqtt``; see manifest.json)."""
