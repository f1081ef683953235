"""What every fact is: a frozen msgspec Struct that knows its aggregate, event name and schema."""

from __future__ import annotations

from typing import ClassVar

import msgspec


class Fact(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A fact that happened. Subclasses set the class variables and name their id field."""

    aggregate: ClassVar[str]
    event: ClassVar[str]
    schema: ClassVar[int] = 1
    id_field: ClassVar[str]

    @property
    def aggregate_id(self) -> str:
        return getattr(self, self.id_field)

    @classmethod
    def type_name(cls) -> str:
        """The `Hiscrm-Event` header value, e.g. `account.created`."""
        return f"{cls.aggregate}.{cls.event}"
