"""The OPC UA adapter (loaded by path as ``twin_server_adapters.opcua``; see manifest.json)."""
