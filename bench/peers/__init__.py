"""Peer operation scripts. Each runs inside the peer's own virtualenv (bench/.venv-<peer>),
times one operation there and prints one JSON line; the driver (bench/run.py) never imports
the peers' packages."""
