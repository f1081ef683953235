"""key() takes shortcuts for the common mixes of text and byte parts; each must equal the plain join."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hiscrm.projector.model import SEP, key

parts = st.lists(st.one_of(st.text(max_size=12), st.binary(max_size=12)), min_size=1, max_size=5)


@given(parts)
def test_key_is_the_parts_joined_by_the_separator(items: list[str | bytes]) -> None:
    expected = SEP.join(p.encode() if isinstance(p, str) else p for p in items)
    assert key(*items) == expected
