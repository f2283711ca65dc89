"""A dead letter keeps the record's own headers and says why it died and where it came from."""

from aiokafka.structs import ConsumerRecord

from sangsaeng_common.dead_letters import dead_letter_headers


def _record(headers: list[tuple[str, bytes]]) -> ConsumerRecord:
    return ConsumerRecord(topic="sangsaeng.intake.events", partition=3, offset=41, timestamp=-1, timestamp_type=0,
                          key=b"k", value=b"{}", checksum=None, serialized_key_size=1, serialized_value_size=2, headers=headers)


def test_the_headers_keep_the_originals_then_name_reason_consumer_and_origin():
    headers = dead_letter_headers(_record([("ce_id", b"1")]), "schema_violation", "bad field", "visits")
    assert headers[0] == ("ce_id", b"1")
    named = dict(headers[1:])
    assert named["dlq_reason"] == b"schema_violation"
    assert named["dlq_error"] == b"bad field"
    assert named["dlq_consumer"] == b"visits"
    assert (named["dlq_origin_topic"], named["dlq_origin_partition"], named["dlq_origin_offset"]) == (b"sangsaeng.intake.events", b"3", b"41")
    assert named["dlq_time"]


def test_a_long_detail_is_cut_to_4000_characters():
    headers = dict(dead_letter_headers(_record([]), "handler_error", "x" * 10_000, "visits"))
    assert len(headers["dlq_error"]) == 4000
