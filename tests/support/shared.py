"""Where the team's shared standards and fixtures are: `../shared` beside the checkout.

CI and the project workspace have it; a user's clone does not, and the tests that read it
skip with a reason there.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[3] / "shared"
FIXTURES = SHARED / "fixtures"
STANDARDS = SHARED / "standards"

needs_shared = pytest.mark.skipif(
    not FIXTURES.is_dir(), reason=f"the shared fixtures folder {SHARED} is absent"
)
