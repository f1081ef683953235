"""The IM API against a real broker and projector: the admin API tests' `api` fixture, imported, plus IM helpers."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_API_TESTS = Path(__file__).resolve().parent.parent / "api"
sys.path.insert(0, str(_API_TESTS))

_spec = importlib.util.spec_from_file_location("api_tests_conftest", _API_TESTS / "conftest.py")
assert _spec is not None and _spec.loader is not None
_api_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_api_conftest)

api = _api_conftest.api
nats_auth = _api_conftest.nats_auth
