"""The live avatar: a WebSocket server streaming frames for live speech, and its client
(protocol version 1, docs/PROTOCOL.md)."""


def banner(host: str, port: int) -> str:
    """The line ``llavataros serve`` prints once it serves (tests and benchmarks wait for it)."""
    return f"llavataros serve: ws://{host}:{port}/ws, viewer at http://{host}:{port}/"
