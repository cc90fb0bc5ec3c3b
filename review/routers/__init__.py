"""One router per page of the review site, in the order ``create_app`` includes them.

login       GET/POST /login, POST /logout
metrics     GET /metrics (Prometheus text, no login)
dashboard   GET /
submissions GET /submissions, /submissions/{id}, /submissions/{id}/pages/{a}/{p}.png
decisions   POST /submissions/{id}/correct, /submissions/{id}/decide
mail        GET /messages/{pk}/original.eml, /messages/{pk}/attachments/{i},
            /messages/{pk}/files/{i}, /replies/{pk}.eml (downloads, logged)
other       GET /other (mail that got no reply)
quotas      GET /quotas
exports     GET /exports, /exports/ledger.{json|xlsx}
"""

from __future__ import annotations

from review.routers import dashboard, decisions, exports, login, mail, metrics, other, quotas, submissions

ROUTERS = tuple(module.router for module in (
    login, metrics, dashboard, submissions, decisions, mail, other, quotas, exports))
