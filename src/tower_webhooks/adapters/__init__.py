"""Framework adapters: one small module per framework, each imported only on demand.

- [`tower_webhooks.adapters.flask`][]: the ``verify_tower_webhook`` view decorator (extra ``flask``).
- [`tower_webhooks.adapters.django`][]: the ``verify_tower_webhook`` view decorator (extra ``django``).
- [`tower_webhooks.adapters.starlette`][]: ``TowerWebhookMiddleware``, ``verify_request`` and the
  FastAPI dependency ``TowerWebhook`` (extra ``starlette`` or ``fastapi``).

This package imports no framework, so ``import tower_webhooks.adapters`` never fails.

.. versionadded:: 0.1.0
"""

from ._shared import DEFAULT_MAX_BODY_BYTES

__all__ = ["DEFAULT_MAX_BODY_BYTES"]
