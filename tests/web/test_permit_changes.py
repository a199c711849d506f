"""From a permit's page: its holder asks for an amendment or a renewal, a decider revokes it
with a published reason; nobody else sees or may use those forms."""

from __future__ import annotations

from sqlalchemy import select

from datafactory.permits.models import Application, Permit
from tests.web.test_handling_pages import browser, csrf, step, submitted, world  # noqa: F401

__all__ = ["browser", "world"]


def granted_permit(committed, runtime, world) -> int:
    from tests.web.test_handling_pages import NOW

    app_id = submitted(committed, runtime, world, at=NOW, title="A granted project")
    step(committed, runtime, world, world.handler, app_id, "start_screening")
    step(committed, runtime, world, world.handler, app_id, "start_processing")
    step(committed, runtime, world, world.decider, app_id, "grant", comment="Met.")
    return committed(lambda s: s.scalars(select(Permit.id)).one())


def test_the_holder_asks_for_a_renewal_from_the_permit_page(
    committed, runtime, world, browser
):
    permit_id = granted_permit(committed, runtime, world)
    holder = browser(world.researcher)
    page = holder.get(f"/permits/{permit_id}")
    assert "Ask for a renewal" in page.text
    answer = holder.post(
        f"/permits/{permit_id}/change",
        data={"csrf_token": csrf(holder), "kind": "renewal"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"].endswith("/edit?step=1")
    renewal = committed(
        lambda s: (
            s.scalars(select(Application).where(Application.kind == "renewal"))
            .one()
            .permit_id
        )
    )
    assert renewal == permit_id

    colleague = browser(world.colleague)
    assert "Ask for a renewal" not in colleague.get(f"/permits/{permit_id}").text


def test_a_decider_revokes_with_a_reason_and_a_short_one_is_refused_in_the_form(
    committed, runtime, world, browser
):
    permit_id = granted_permit(committed, runtime, world)
    decider = browser(world.decider)
    page = decider.get(f"/permits/{permit_id}")
    assert "Revoke the permit" in page.text
    short = decider.post(
        f"/permits/{permit_id}/revoke",
        data={"csrf_token": csrf(decider), "reason": "no"},
    )
    assert short.status_code == 422
    assert 'aria-invalid="true"' in short.text
    assert committed(lambda s: s.get(Permit, permit_id).status) == "GRANTED"
    done = decider.post(
        f"/permits/{permit_id}/revoke",
        data={"csrf_token": csrf(decider), "reason": "Outputs left the SPE unchecked."},
    )
    assert done.status_code == 200
    assert "The permit was revoked" in done.text
    assert committed(lambda s: s.get(Permit, permit_id).status) == "REVOKED"

    handler = browser(world.handler)
    assert "Revoke the permit" not in handler.get(f"/permits/{permit_id}").text
    refused = handler.post(
        f"/permits/{permit_id}/revoke",
        data={"csrf_token": csrf(handler), "reason": "Handlers cannot revoke."},
    )
    assert refused.status_code == 403


def test_the_permit_page_lists_the_aggregate_tables_its_scope_holds(
    committed, runtime, world, browser
):
    permit_id = granted_permit(committed, runtime, world)

    # The scope as issuing freezes it for an aggregated permit (tests/permits/
    # test_aggregate_tables.py); this page only reads it.
    def name_a_table(session) -> str:  # noqa: ANN001
        permit = session.get(Permit, permit_id)
        dataset = permit.scope["datasets"][0]["id"]
        permit.scope = {
            **permit.scope,
            "aggregate_tables": [
                {
                    "name": "people_by_sex",
                    "dataset": dataset,
                    "group_by": ["sex", "commune"],
                    "measures": ["amount"],
                }
            ],
        }
        return str(dataset)

    committed(name_a_table)
    page = browser(world.researcher).get(f"/permits/{permit_id}").text
    assert "<code>people_by_sex</code>" in page
    assert "by sex, commune; sums and means of amount" in page
