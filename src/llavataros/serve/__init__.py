"""The live avatar: a WebSocket server streaming frames for live speech, and its client
(protocol version 1, docs/PROTOCOL.md)."""
