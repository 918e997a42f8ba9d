from integration.mllp.framing import FrameDecoder, Oversized, frame

MSG1 = b"MSH|^~\\&|A|B|C|D|20260101||ADT^A01|1|P|2.5.1\rPID|1"
MSG2 = b"MSH|^~\\&|A|B|C|D|20260101||ADT^A01|2|P|2.5.1\rPID|2"


def test_one_frame_one_message():
    assert FrameDecoder().feed(frame(MSG1)) == [MSG1]


def test_several_messages_in_one_read():
    assert FrameDecoder().feed(frame(MSG1) + frame(MSG2)) == [MSG1, MSG2]


def test_message_split_across_every_byte_boundary():
    data = frame(MSG1) + frame(MSG2)
    for cut in range(1, len(data)):
        decoder = FrameDecoder()
        assert decoder.feed(data[:cut]) + decoder.feed(data[cut:]) == [MSG1, MSG2], cut


def test_one_byte_at_a_time():
    decoder = FrameDecoder()
    out = []
    for byte in frame(MSG1):
        out += decoder.feed(bytes([byte]))
    assert out == [MSG1]


def test_bytes_before_start_block_are_discarded():
    assert FrameDecoder().feed(b"junk\r\n\x00" + frame(MSG1)) == [MSG1]


def test_end_block_split_between_reads():
    decoder = FrameDecoder()
    data = frame(MSG1)
    assert decoder.feed(data[:-1]) == []
    assert decoder.feed(data[-1:]) == [MSG1]


def test_oversized_message_is_reported_with_its_head_and_memory_stays_bounded():
    decoder = FrameDecoder(max_message_bytes=100)
    big = MSG1 + b"X" * 10_000
    out = []
    for i in range(0, len(frame(big)), 512):
        out += decoder.feed(frame(big)[i : i + 512])
        assert decoder.pending_bytes <= 101
    assert len(out) == 1 and isinstance(out[0], Oversized)
    assert out[0].head.startswith(b"MSH|")
    assert out[0].size == len(big)
    # the decoder recovers for the next message
    assert decoder.feed(frame(MSG2)) == [MSG2]
