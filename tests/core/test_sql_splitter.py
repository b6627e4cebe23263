"""The migration splitter keeps quotes, comments, dollar-quoted bodies and triggers whole."""

from nxforge.migrations.splitter import split_sql


def test_semicolons_inside_strings_comments_and_dollar_blocks() -> None:
    sql = """
    -- a comment; with a semicolon
    CREATE TABLE t (a TEXT DEFAULT ';');
    /* block; comment */
    DO $$ BEGIN RAISE NOTICE 'x;y'; END $$;
    CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;
    INSERT INTO t VALUES ('it''s; fine');
    SELECT "odd;name" FROM t
    """
    statements = split_sql(sql)
    assert len(statements) == 5
    assert statements[1].endswith("END $$")
    assert "SELECT 1; $body$" in statements[2]
    assert statements[3].endswith("('it''s; fine')")


def test_sqlite_trigger_body_is_one_statement() -> None:
    sql = "CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET a = 1; UPDATE t SET b = 2; END;\nSELECT 1;"
    assert len(split_sql(sql)) == 2


def test_comment_only_file_has_no_statements() -> None:
    assert split_sql("-- nothing here;\n/* nor; here */\n") == []
