"""One small app per framework, served by a real server in the adapter benchmark.

Each serves the same endpoint twice: ``/plain`` reads the body and answers 200, ``/verified`` does
the same behind the adapter. The secret comes from ``TOWER_BENCH_SECRET`` in the environment.
Apps carry no other middleware, so the share verification takes is as large as it can be.
"""

SECRET_VARIABLE = "TOWER_BENCH_SECRET"
