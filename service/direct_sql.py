"""Core statements run straight on the DBAPI cursor, for the few the scan path runs on every scan.

``connection.execute(statement, params)`` spends more Python on each statement than the
statement costs a local database: it looks the compiled form up in its cache, builds the
parameters through the compiled form, runs each value through its type's bind processor and
builds a result object. For a statement the scan path runs every time with the same columns,
all of that but the bind processors can be done once: :class:`DirectStatement` compiles the
statement once per dialect (the SQL text, the parameters in the order the driver wants them and
each one's bind processor) and then runs it on the connection's DBAPI cursor.

What SQLAlchemy would have done besides is kept: values go through the same bind processors
(the stored values are the same), ``before_cursor_execute`` listeners see each statement (the
statement counts stay honest), and a driver error is raised as SQLAlchemy's own
(:class:`sqlalchemy.exc.IntegrityError` with the driver's error as ``orig``; a lost connection
is invalidated). Statements whose compiled form needs more (values computed by Python-side
column defaults, expanding ``IN`` lists) are refused when compiled.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Connection, exc
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Executable
from sqlalchemy.sql.elements import BindParameter

Processor = Callable[[Any], Any]
# A parameter the caller gives (not one the statement holds a value for, like ``size + 1``).
_GIVEN = object()


class Written(NamedTuple):
    """What a write did: the rows it changed, and the key SQLite gave a row it inserted."""

    rowcount: int
    lastrowid: int | None


@dataclass(frozen=True)
class _Compiled:
    sql: str
    # (parameter name, bind processor or None, the value the statement itself gives it or
    # _GIVEN), in the driver's order for a positional style
    binds: tuple[tuple[str, Processor | None, Any], ...]
    positional: bool


class DirectStatement:
    """``statement``, compiled once per dialect, run on the DBAPI cursor (module docstring)."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}
        self._readers: dict[str, tuple[tuple[str, Processor | None], ...]] = {}

    def _compiled_for(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compiled[dialect.name] = _compile(self.statement, dialect)
        return found

    def write(self, connection: Connection, params: Mapping[str, Any]) -> Written:
        """Run an insert or an update (``params``: a value for every parameter the statement
        names) in the connection's transaction."""
        cursor = self._run(connection, params)
        # lastrowid is optional in the DBAPI: psycopg has none (PostgreSQL callers use RETURNING)
        written = Written(cursor.rowcount, getattr(cursor, "lastrowid", None))
        cursor.close()
        return written

    def scalar(self, connection: Connection, params: Mapping[str, Any]) -> Any:
        """The first column of the first row (a key, a count: as the driver gives it), or None
        when there is no row."""
        cursor = self._run(connection, params)
        row = cursor.fetchone()
        cursor.close()
        return None if row is None else row[0]

    def first(self, connection: Connection, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """The first row of a query, by column key, each value through its type's result
        processor as SQLAlchemy's own results would give it; None when there is none."""
        cursor = self._run(connection, params)
        row = cursor.fetchone()
        if row is None:
            cursor.close()
            return None
        readers = self._readers.get(connection.dialect.name)
        if readers is None:
            # The driver's column types, read once: psycopg builds the description anew at
            # each reading, some sixty columns here.
            readers = self._readers[connection.dialect.name] = _readers(
                self.statement, connection.dialect, cursor.description
            )
        cursor.close()
        return {
            key: (read(value) if read is not None else value)
            for (key, read), value in zip(readers, row, strict=True)
        }

    def _run(self, connection: Connection, params: Mapping[str, Any]) -> Any:
        """The DBAPI cursor that ran the statement with ``params``."""
        dialect = connection.dialect
        compiled = self._compiled_for(dialect)
        values = []
        for name, process, own in compiled.binds:
            value = params[name] if own is _GIVEN else own
            values.append(process(value) if process is not None else value)
        driver_params: Any = (
            tuple(values)
            if compiled.positional
            else {bind[0]: value for bind, value in zip(compiled.binds, values, strict=True)}
        )
        cursor = connection.connection.cursor()
        listeners = connection.dispatch.before_cursor_execute
        if listeners:
            listeners(connection, cursor, compiled.sql, driver_params, None, False)
        try:
            cursor.execute(compiled.sql, driver_params)
        except dialect.loaded_dbapi.Error as error:
            # A lost connection is given up, as SQLAlchemy gives it up: the pool never hands
            # it out again.
            lost = dialect.is_disconnect(error, connection.connection.dbapi_connection, cursor)
            if lost:
                connection.invalidate(error)
            raise exc.DBAPIError.instance(
                compiled.sql,
                driver_params,
                error,
                dialect.loaded_dbapi.Error,
                connection_invalidated=lost,
                dialect=dialect,
            ) from error
        return cursor


def _compile(statement: Executable, dialect: Dialect) -> _Compiled:
    compiled: Any = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
    if compiled.insert_prefetch or compiled.update_prefetch:
        raise ValueError("a statement with Python-side column defaults cannot run directly")
    if compiled.literal_execute_params or compiled.post_compile_params:
        raise ValueError("a statement with expanding or literal parameters cannot run directly")
    if compiled.escaped_bind_names:
        raise ValueError("a statement with escaped parameter names cannot run directly")
    positional = bool(compiled.positional)
    names = list(compiled.positiontup) if positional else list(compiled.binds)
    binds = tuple(_bind(name, compiled.binds[name], dialect) for name in names)
    return _Compiled(sql=compiled.string, binds=binds, positional=positional)


def _bind(
    name: str, param: BindParameter[Any], dialect: Dialect
) -> tuple[str, Processor | None, Any]:
    processor = param.type.dialect_impl(dialect).bind_processor(dialect)
    own = _GIVEN if param.required else param.effective_value
    return name, processor, own


def _readers(
    statement: Any, dialect: Dialect, description: Sequence[Any]
) -> tuple[tuple[str, Processor | None], ...]:
    """Each selected column's key and result processor (for the driver's column type)."""
    columns = list(statement.selected_columns)
    keys = list(statement.selected_columns.keys())
    if len(columns) != len(description) or len(set(keys)) != len(keys):
        raise ValueError("a query's columns must have distinct keys to be read directly")
    return tuple(
        (key, column.type.dialect_impl(dialect).result_processor(dialect, described[1]))
        for key, column, described in zip(keys, columns, description, strict=True)
    )
