-- The ledger becomes a transparency log (contracts/ledger.md): each row keeps its entry's
-- exact bytes (RFC 8785 JSON of the consumed record), the RFC 9162 Merkle tree over them is
-- stored node by node as entries are appended, and signed checkpoints of the tree are kept.
-- The hash chain (prev_hash, hash) is gone: the tree replaces it. Entry index = position - 1.
alter table ledger add column entry bytea;

-- Rows recorded before this migration did not keep the record's key nor its headers' order
-- and bytes: their entries are rebuilt from what was kept (key = the subject, headers sorted
-- by name as UTF-8 text, value = the data as received). From here on entries are exact.
alter table ledger disable trigger ledger_no_update_delete;
update ledger set entry = convert_to(
    '{"headers":[' || coalesce((
        select string_agg('[' || to_json(h.key)::text || ',' || to_json(translate(encode(convert_to(h.value, 'UTF8'), 'base64'), E'\n', ''))::text || ']',
                          ',' order by h.key collate "C")
          from jsonb_each_text(headers) h), '') || '],'
    || '"key":' || to_json(translate(encode(convert_to(subject, 'UTF8'), 'base64'), E'\n', ''))::text
    || ',"offset":' || kafka_offset || ',"partition":' || kafka_partition || ',"topic":' || to_json(topic)::text
    || ',"value":' || to_json(translate(encode(convert_to(data_text, 'UTF8'), 'base64'), E'\n', ''))::text || '}',
    'UTF8');
alter table ledger enable trigger ledger_no_update_delete;
alter table ledger alter column entry set not null;
alter table ledger drop column prev_hash, drop column hash;
alter table ledger_head drop column hash;  -- `position` is the tree's size

-- Every complete, aligned subtree's hash, stored once when its last entry is appended:
-- (level, index) covers entries [index * 2^level, (index + 1) * 2^level); level 0 are the
-- leaf hashes. An append adds the leaf and the nodes it completes (O(log n)), in the same
-- transaction as the entries; any root or proof is computed from O(log n) of these.
create table ledger_tree (
    level smallint not null check (level between 0 and 62),
    index bigint   not null check (index >= 0),
    hash  bytea    not null check (length(hash) = 32),
    primary key (level, index)
);

insert into ledger_tree (level, index, hash)
select 0, position - 1, sha256('\x00'::bytea || entry) from ledger;
do $$
declare
    lvl int := 1;
begin
    while (select count(*) from ledger) >= (1::bigint << lvl) loop
        insert into ledger_tree (level, index, hash)
        select lvl, l.index / 2, sha256('\x01'::bytea || l.hash || r.hash)
          from ledger_tree l join ledger_tree r on r.level = l.level and r.index = l.index + 1
         where l.level = lvl - 1 and l.index % 2 = 0;
        lvl := lvl + 1;
    end loop;
end $$;

-- Signed checkpoints (C2SP tlog-checkpoint bodies as C2SP signed notes), newest last.
create table ledger_checkpoints (
    id        bigint generated always as identity primary key,
    tree_size bigint      not null check (tree_size >= 0),
    root_hash bytea       not null check (length(root_hash) = 32),
    note      text        not null,
    key_id    text        not null,
    signed_at timestamptz not null default now()
);
create index ledger_checkpoints_size on ledger_checkpoints (tree_size, id);

create trigger ledger_tree_no_update_delete before update or delete on ledger_tree
    for each row execute function ledger_refuse_change();
create trigger ledger_tree_no_truncate before truncate on ledger_tree
    for each statement execute function ledger_refuse_change();
create trigger ledger_checkpoints_no_update_delete before update or delete on ledger_checkpoints
    for each row execute function ledger_refuse_change();
create trigger ledger_checkpoints_no_truncate before truncate on ledger_checkpoints
    for each statement execute function ledger_refuse_change();

do $$
declare
    runtime text := current_setting('sangsaeng.runtime_role');
begin
    if runtime <> current_user then
        execute format('grant select, insert on ledger_tree, ledger_checkpoints to %I', runtime);
    end if;
end $$;
