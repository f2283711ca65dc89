"""A directory's declaration is checked when it is made (the SQL is built from it)."""

import pytest

from sangsaeng_common.handlers import Handlers
from sangsaeng_common.contracts.intake import BusinessDetailsChanged, BusinessErased, BusinessRegistered, BusinessStageChanged
from sangsaeng_common.directory import ERASED, BusinessDirectory, Erasure


def test_only_business_registered_fields_can_be_kept_and_only_kept_columns_blanked():
    with pytest.raises(ValueError, match="not BusinessRegistered fields"):
        BusinessDirectory(columns=("dong", "owner_phone"))
    with pytest.raises(ValueError, match="only kept columns"):
        BusinessDirectory(columns=("dong",), erasure=Erasure(blank={"name": ERASED}))
    with pytest.raises(ValueError, match="twice"):
        BusinessDirectory(columns=("dong", "dong"))


def test_one_batch_handler_takes_the_four_events_and_the_read_models_follow_the_declaration():
    handlers = Handlers("someone")
    directory = BusinessDirectory(columns=("dong", "stage"), stage_history=True)
    directory.register(handlers)
    handler = handlers.by_type[BusinessRegistered]
    assert handlers.by_type[BusinessStageChanged] is handler and handlers.by_type[BusinessErased] is handler
    assert handlers.by_type[BusinessDetailsChanged] is handler
    assert handler in handlers.batched
    assert [m.table for m in directory.read_models()] == ["businesses", "business_stage_history"]
    assert [m.table for m in BusinessDirectory(columns=("dong",)).read_models()] == ["businesses"]


async def test_an_erasure_takes_the_services_own_locks_first_in_id_order():
    import uuid

    calls = []

    class Conn:
        async def execute(self, sql, *args):
            calls.append(("directory", args[0]))

    async def lock(conn, ids):
        calls.append(("lock", ids))

    class Ctx:
        pass

    from datetime import UTC, datetime

    a, b = sorted([uuid.uuid4(), uuid.uuid4()])
    erased = [(Ctx(), BusinessErased(business_id=i, erased_at=datetime.now(UTC))) for i in (b, a, b)]
    await BusinessDirectory(columns=("dong",), before_erased=lock).apply(Conn(), erased)
    assert calls == [("lock", [a, b]), ("directory", [a, b])]


async def test_each_stage_change_reaches_the_services_hook_after_the_stages_are_written_in_log_order():
    import uuid
    from datetime import date

    calls = []

    class Conn:
        async def execute(self, sql, *args):
            calls.append(("directory", sorted(args[0])))

    async def changed(ctx, event):
        calls.append(("hook", event.business_id, event.to_stage.value))

    class Ctx:
        pass

    a, b = uuid.uuid4(), uuid.uuid4()
    changes = [(Ctx(), BusinessStageChanged(business_id=i, from_stage=f, to_stage=t, changed_on=date(2025, 5, 2)))
               for i, f, t in ((b, "operating", "closing"), (a, "operating", "closing"), (b, "closing", "closed"))]
    await BusinessDirectory(columns=("dong", "stage"), on_stage_changed=changed).apply(Conn(), changes)
    assert calls == [("directory", sorted([a, b])), ("hook", b, "closing"), ("hook", a, "closing"), ("hook", b, "closed")]
