"""The staff review site: server-rendered FastAPI + Jinja2, no front-end build step.

``review.app.create_app`` builds the app; one router per page lives in ``review.routers``.
See README.md in this folder.
"""
