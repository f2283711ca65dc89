from dataclasses import replace

from audit.domain.chain import GENESIS, LinkInput, StoredLink, canonical_json, first_break, link


def _chain(n: int) -> list[StoredLink]:
    links, prev = [], GENESIS
    for i in range(1, n + 1):
        entry = LinkInput(f"id-{i}", "sangsaeng.intake.events", 0, i - 1, {"ce_type": "t", "ce_subject": "b"}, f'{{"n": {i}, "name": "바른분식"}}')
        h = link(prev, entry)
        links.append(StoredLink(i, entry, prev, h))
        prev = h
    return links


def test_an_intact_chain_has_no_break():
    assert first_break(_chain(5)) == (5, None)
    assert first_break([]) == (0, None)


def test_changed_content_is_named_at_its_position():
    links = _chain(5)
    links[2] = replace(links[2], entry=replace(links[2].entry, data_text='{"n": 3, "name": "다른"}'))
    checked, broken = first_break(links)
    assert (checked, broken.position, broken.event_id) == (3, 3, "id-3")
    assert "content" in broken.reason


def test_a_rehashed_row_breaks_the_next_link():
    links = _chain(5)
    tampered = replace(links[1].entry, data_text="{}")
    links[1] = replace(links[1], entry=tampered, hash=link(links[1].prev_hash, tampered))  # consistent in itself
    _, broken = first_break(links)
    assert broken.position == 3 and "prev_hash" in broken.reason


def test_a_removed_row_is_a_missing_position():
    links = _chain(5)
    del links[3]
    _, broken = first_break(links)
    assert broken.position == 5 and "position 4 is missing" in broken.reason


def test_canonical_json_is_key_order_independent_and_utf8():
    assert canonical_json({"b": 1, "a": "동"}) == canonical_json({"a": "동", "b": 1}) == '{"a":"동","b":1}'.encode()
