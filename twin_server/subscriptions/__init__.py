"""NGSI-LD subscriptions: what a subscriber asked for, which changes match it, and the
notifier that delivers them (HTTP, MQTT), reliably and in order."""
