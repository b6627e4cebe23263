-- Uninstall: the statements go with the module (DROP is not refused by the append-only triggers).
DROP TABLE IF EXISTS cm_statement_line;
DROP TABLE IF EXISTS cm_statement;
DROP TABLE IF EXISTS cm_month_close;
DROP FUNCTION IF EXISTS cm_refuse_change();
