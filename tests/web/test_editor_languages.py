"""The steward's form shows lb, fr, de and en; a harvested record's other languages (a Greek
title, say) have no field, and saving the form must not lose them."""

from __future__ import annotations

from datafactory.catalogue.models import Dataset
from tests.web.test_editor import create, draft_of, form_of, post
from tests.web.test_editor import steward as steward  # noqa: F401 (a fixture)
from tests.web.test_editor import world as world  # noqa: F401 (a fixture)

GREEK_TITLE = "Πληθυσμός μελισσών στην Ελλάδα"


def test_saving_the_form_keeps_the_languages_it_does_not_show(
    steward, world, db, committed
):
    dataset_id = create(steward, world, title_fr="Population des abeilles")

    def harvested_texts(session):
        dataset = session.get(Dataset, dataset_id)
        dataset.draft = {
            **dataset.draft,
            "title": {"fr": "Population des abeilles", "el": GREEK_TITLE},
            "description": {"el": "Ετήσια καταμέτρηση.", "pt": "Contagem anual."},
            "keywords": {"el": ["μέλισσες"], "fr": ["abeilles"]},
        }

    committed(harvested_texts)
    fields = form_of(steward, dataset_id)
    assert not any(name.endswith("_el") or name.endswith("_pt") for name in fields)
    fields.update(description_fr="Comptage annuel.", keywords_fr="abeilles, miel")
    saved = post(steward, f"/datasets/{dataset_id}/edit", **fields)
    assert saved.status_code == 303, saved.text
    draft = draft_of(db, dataset_id)
    assert draft["title"] == {"fr": "Population des abeilles", "el": GREEK_TITLE}
    assert draft["description"] == {
        "fr": "Comptage annuel.",
        "el": "Ετήσια καταμέτρηση.",
        "pt": "Contagem anual.",
    }
    assert draft["keywords"] == {"fr": ["abeilles", "miel"], "el": ["μέλισσες"]}

    # Clearing the only French title leaves the Greek one: the draft still has a title.
    fields = {**form_of(steward, dataset_id), "title_fr": ""}
    saved = post(steward, f"/datasets/{dataset_id}/edit", **fields)
    assert saved.status_code == 303, saved.text
    assert draft_of(db, dataset_id)["title"] == {"el": GREEK_TITLE}
