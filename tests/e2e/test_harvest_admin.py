"""The catalogue administrator's harvest page in Chromium: a source, "Run now", the job's
live status, and the report of the run back on the page; axe on every page."""

from __future__ import annotations

import re
from importlib.resources import as_file, files
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from datafactory import demo
from datafactory.catalogue.harvest.models import HarvestSource
from datafactory.catalogue.harvest.run import HARVESTER
from datafactory.catalogue.harvest.sources import SourceType, add_source
from datafactory.core.db import unit_of_work
from tests.e2e.test_journeys import main_nav, sign_in

pytestmark = pytest.mark.e2e

CATALOGUE_ADMIN = "catalogue@demo.datafactory.lu"
SOURCE = "e2e-communes-portal"


@pytest.fixture(scope="module")
def harvest_source(live_server: Any) -> str:
    """The demo's commune portal, added as a source of the live server's catalogue."""
    with as_file(files(demo).joinpath(demo.HARVEST_FILE)) as path:
        with unit_of_work(live_server.runtime.sessions) as session:
            if (
                session.scalar(
                    select(HarvestSource).where(HarvestSource.name == SOURCE)
                )
                is None
            ):
                add_source(
                    session,
                    HARVESTER,
                    name=SOURCE,
                    type=SourceType.dcat,
                    url=str(path),
                    publisher=demo.HARVEST_PUBLISHER,
                    allow_private_network=True,
                )
    return SOURCE


def test_a_catalogue_admin_runs_a_harvest_and_reads_its_report(
    page: Any, check_a11y: Any, harvest_source: str
) -> None:
    sign_in(page, CATALOGUE_ADMIN)
    page.goto("/admin/harvest")
    expect(page.get_by_role("heading", level=1)).to_have_text("Harvest sources")
    row = page.get_by_role("row").filter(has_text=harvest_source)
    expect(row).to_contain_text("dcat")
    check_a11y(page)

    row.get_by_role("button", name=f"Run {harvest_source} now").click()
    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f]+$"))
    status = page.get_by_role("status")
    expect(status).to_contain_text("succeeded", timeout=60_000)
    expect(status).to_contain_text("created")
    check_a11y(page)

    page.goto("/admin/harvest")
    report = page.get_by_role("row").filter(has_text=harvest_source)
    expect(report).to_contain_text(re.compile(r"\d+ created, \d+ updated"))
    expect(report).to_contain_text("0 failed")
    check_a11y(page)


def test_a_researcher_cannot_open_the_harvest_page(page: Any) -> None:
    sign_in(page, "researcher@demo.datafactory.lu")
    expect(main_nav(page).get_by_role("link", name="Harvest sources")).to_have_count(0)
    answer = page.goto("/admin/harvest")
    assert answer is not None and answer.status == 403
