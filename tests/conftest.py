"""Shared test configuration."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# Property tests run at least 2,000 examples each (issue: "Protocol core"); the codecs are
# pure functions, so this stays fast. HYPOTHESIS_PROFILE=quick gives a short local loop.
settings.register_profile(
    "default",
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("quick", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
