"""Fixed values shared by the tests: a clock reading, a secret and a body."""

NOW_MS = 1_764_468_000_000
SECRET = "N+k07mvNIzE+Z2cBUxK9fWdcAO3fZK6gHltrG7M9BM0A/wD/AP8A/wD/AP8A/wD/"
BODY = b'{"event_type":"run.started","data":{}}'
