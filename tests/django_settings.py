"""Django's settings for the whole test session, configured by whichever test module needs them first."""

from __future__ import annotations

import django
from django.conf import settings


def configure_django() -> None:
    """Configure Django once; each test overrides what it needs with ``override_settings``."""
    if not settings.configured:
        settings.configure(
            SECRET_KEY="not-a-tower-secret",
            INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes"],
            SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies",
        )
        django.setup()
