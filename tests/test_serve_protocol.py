"""The live protocol's parsing and checks (pure: no server, no model)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from llavataros.serve import protocol
from llavataros.serve.protocol import End, ProtocolError, Start, Words, parse_audio, parse_text

DOC = Path(__file__).resolve().parents[1] / "docs" / "PROTOCOL.md"


def test_the_document_names_every_message_type_and_error_code():
    text = DOC.read_text()
    quoted = set(re.findall(r"`([a-z_]+)`", text))
    names = {*protocol.CLIENT_TYPES, *protocol.SERVER_TYPES, *protocol.ERROR_CODES}
    assert names - quoted == set()
    assert f"version {protocol.VERSION}" in text


def test_a_full_start_message_parses():
    start = parse_text(
        json.dumps(
            {
                "type": "start",
                "version": 1,
                "sample_rate": 48000,
                "speaker": "Happy",
                "transcript": {"words": [{"word": "hi", "start": 0.1, "end": 0.3}]},
                "live_words": False,
            }
        )
    )
    assert start == Start(48000, "Happy", None, (protocol.Word("hi", 0.1, 0.3),), False)
    assert parse_text('{"type": "start"}') == Start()  # defaults; live words without transcript
    assert parse_text('{"type": "start", "transcript": "hello"}').live_words is False
    assert parse_text('{"type": "start", "transcript": "hello"}').text == "hello"
    assert parse_text('{"type": "end"}') == End()
    assert parse_text('{"type": "words", "words": []}') == Words(())


@pytest.mark.parametrize(
    "text, code",
    [
        ("{not json", "bad_json"),
        ("[1, 2]", "bad_message"),
        ('{"type": "dance"}', "bad_message"),
        ('{"type": "start", "version": 2}', "unsupported_version"),
        ('{"type": "start", "version": true}', "unsupported_version"),
        ('{"type": "start", "sample_rate": 100}', "bad_message"),
        ('{"type": "start", "sample_rate": 16000.5}', "bad_message"),
        ('{"type": "start", "speaker": 3}', "bad_message"),
        ('{"type": "start", "transcript": 3}', "bad_message"),
        ('{"type": "start", "live_words": "yes"}', "bad_message"),
        ('{"type": "words", "words": "hi"}', "bad_message"),
        ('{"type": "words", "words": [{"word": "a", "start": 1, "end": 0.5}]}', "bad_message"),
        ('{"type": "words", "words": [{"word": "a", "start": -1, "end": 1}]}', "bad_message"),
        ('{"type": "words", "words": [{"word": "a", "start": "x", "end": 1}]}', "bad_message"),
        (
            '{"type": "words", "words": [{"word": "a", "start": 1, "end": 2},'
            ' {"word": "b", "start": 0.5, "end": 0.7}]}',
            "out_of_order",
        ),
        ('{"type": "words", "pad": "' + "x" * protocol.MAX_MESSAGE_BYTES + '"}', "too_large"),
    ],
)
def test_bad_text_messages_get_their_error_code(text, code):
    with pytest.raises(ProtocolError) as caught:
        parse_text(text)
    assert caught.value.code == code
    assert "\n" not in caught.value.message


def test_audio_is_pcm16_little_endian():
    samples = np.array([0, 16384, -32768, 32767], "<i2")
    assert parse_audio(samples.tobytes()).tolist() == [0.0, 0.5, -1.0, 32767 / 32768]
    with pytest.raises(ProtocolError, match="bad_audio"):
        parse_audio(b"\x00\x01\x02")
    with pytest.raises(ProtocolError, match="too_large"):
        parse_audio(bytes(protocol.MAX_MESSAGE_BYTES + 2))


def test_server_messages():
    body = np.arange(2 * 9 * 7, dtype=np.float32).reshape(2, 9, 7) / 7
    message = protocol.frames(5, 60.0, body, None)
    assert message["first"] == 5 and message["face"] is None
    assert np.allclose(np.array(message["body"]), body, atol=1e-6)
    assert protocol.error("internal", "two\nlines") == {
        "type": "error",
        "code": "internal",
        "message": "two lines",
    }
    assert json.loads(json.dumps(protocol.done(3))) == {"type": "done", "frames": 3}


def test_client_files_for_a_result_with_live_words(tmp_path):
    from llavataros.serve.client import StreamResult, write_result

    ready = {"fps": 30.0, "lookahead_s": 0.6}
    result = StreamResult(
        ready,
        np.zeros((3, 9, 7), np.float32),
        None,
        np.array([0.7, 0.8, 0.9]),
        [{"word": "hi", "start": 0.1, "end": 0.3}],
    )
    written = write_result(result, tmp_path, "talk")
    assert [p.name for p in written] == [
        "talk.npy",
        "talk.json",
        "talk.words.json",
        "talk.latency.json",
    ]
    words = json.loads((tmp_path / "talk.words.json").read_text())
    assert words == {"text": "hi", "source": "live", "words": result.words}
    latency = json.loads((tmp_path / "talk.latency.json").read_text())
    assert latency["latency_p50_s"] == 0.8 and latency["beyond_max_s"] == 0.3
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging
