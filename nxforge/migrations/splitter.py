"""Split a migration file into statements with a real SQL lexer.

Splitting on ``;`` breaks ``DO $$ ... $$`` blocks, string literals and comments (the old
system's bug); sqlparse tokenises quotes, comments and dollar-quoted bodies properly.
"""

from __future__ import annotations

import sqlparse


def _is_only_comments(statement: str) -> bool:
    parsed = sqlparse.parse(statement)
    return all(token.is_whitespace or token.ttype in sqlparse.tokens.Comment for s in parsed for token in s.flatten())


def split_sql(text: str) -> list[str]:
    """The executable statements of ``text``, without the trailing ``;`` and without empty ones."""
    statements = []
    for raw in sqlparse.split(text):
        statement = raw.strip()
        if not statement or _is_only_comments(statement):
            continue
        statements.append(statement.rstrip(";").rstrip())
    return statements
