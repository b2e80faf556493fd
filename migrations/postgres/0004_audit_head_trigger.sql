-- The chain's tip follows each appended entry inside the INSERT itself:
-- an append is two statements (reserve the next seq, insert) instead of
-- three, and the hot paths append one entry per change. Only the entry
-- whose seq was reserved moves the tip: a row inserted out of turn leaves
-- the tip behind, which `keyward audit verify` reports.
CREATE FUNCTION audit_log_moves_head() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE audit_head SET hash = NEW.hash WHERE id = 1 AND seq = NEW.seq;
    RETURN NULL;
END
$$;
CREATE TRIGGER audit_log_moves_head AFTER INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_moves_head();
