"""``twin-server demo``: a simulated pump station driving the server on its embedded default."""
