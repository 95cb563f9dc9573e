"""The review desk (`appeals serve`): a local web app over the case store for billers,
compliance reviewers and clinicians. Above every stage and the store; nothing imports it."""

from appeals.web.app import create_app

__all__ = ["create_app"]
