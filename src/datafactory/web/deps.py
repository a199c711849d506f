"""Dependency shortcuts for routes: the runtime, the request's unit of work, the actor.

``SessionDep`` is the request's one transaction: it commits after the handler returns and
before the answer leaves, and rolls back if anything raised. Handlers and services never
commit. ``allow("ns.verb")`` is how a route states its policy action; the route-walk test
checks that every route has one and that it answers as the policy table says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from datafactory.core.config import Settings
from datafactory.core.db import unit_of_work
from datafactory.core.errors import Unauthenticated
from datafactory.identity import policy, tokens
from datafactory.identity.actor import Actor
from datafactory.identity.models import Person
from datafactory.runtime import Runtime

SESSION_PERSON = "person_id"


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_settings(runtime: RuntimeDep) -> Settings:
    return runtime.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    with unit_of_work(runtime.sessions) as session:
        yield session


# scope="function": commit before the answer is sent, so a failed commit is an error
# to the client and never a success it was told about.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_actor(request: Request, session: SessionDep) -> Actor:
    """The bearer token's person for the API, the session cookie's person for pages."""
    if "actor" in request.state._state:
        actor: Actor = request.state.actor
        return actor
    actor = _authenticate(request, session)
    request.state.actor = actor
    return actor


def _authenticate(request: Request, session: Session) -> Actor:
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() == "bearer" and secret:
            found = tokens.authenticate_token(session, secret.strip())
            if found is not None:
                return found
        # A wrong or expired token is an error, not a quiet fall-back to anonymous.
        request.state.bad_credentials = True
        return Actor.anonymous()
    if request.url.path.startswith("/api/"):
        # The API takes bearer tokens only, so a forged cross-site request that carries
        # the session cookie gains nothing.
        return Actor.anonymous()
    person_id = request.session.get(SESSION_PERSON)
    if isinstance(person_id, int):
        person = session.get(Person, person_id)
        if person is not None and person.active:
            return Actor.for_person(person)
        request.session.clear()
    return Actor.anonymous()


ActorDep = Annotated[Actor, Depends(get_actor)]


def allow(action: str) -> Callable[..., Actor]:
    """A dependency that lets the request through only if the policy allows ``action``."""

    def dependency(request: Request, actor: ActorDep) -> Actor:
        if getattr(request.state, "bad_credentials", False):
            raise Unauthenticated("The API token is unknown, expired or revoked.")
        policy.ensure(actor, action)
        return actor

    dependency.__name__ = f"allow_{action.replace('.', '_')}"
    dependency.action = action  # type: ignore[attr-defined]
    return dependency
