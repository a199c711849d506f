"""Strings the templates translate at run time, marked here so extraction finds them.

Templates pass some values through ``_()`` that are not literals in any template: the
navigation labels, the titles of error problems, the sign-in messages, the job statuses and
the prohibited uses an applicant declares.
``pybabel extract`` cannot see those, so each is repeated here inside ``N_()``, the no-op
marker Babel extracts by default. ``tests/web/test_i18n.py`` checks that every such value in
the code is listed here, so a new label cannot go untranslated unnoticed.
"""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark ``message`` for extraction; translation happens later, in the template."""
    return message


NAVIGATION_LABELS = (
    N_("Home"),
    N_("Datasets"),
    N_("New dataset"),
    N_("Metadata quality"),
    N_("Applications"),
    N_("Handler queue"),
    N_("Inbox"),
    N_("Clerical review"),
    N_("Workspaces"),
    N_("Output checking"),
    N_("Public register"),
    N_("My account"),
    N_("People and roles"),
    N_("Audit ledger"),
)

PROBLEM_TITLES = (
    N_("Error"),
    N_("Internal error"),
    N_("The platform is not configured correctly"),
    N_("Bad request"),
    N_("Invalid input"),
    N_("Harvest failed"),
    N_("The e-mail could not be sent"),
    N_("A second, different operator must approve"),
    N_("The file holds invalid identifiers"),
    N_("The pseudonym domain is retired"),
    N_("The re-identification request is not open for this step"),
    N_("The trusted third party's master key is not usable"),
    N_("Two identifiers gave the same pseudonym"),
    N_("Unknown pseudonym domain"),
    N_("Sign-in required"),
    N_("Not allowed"),
    N_("Not found"),
    N_("Method not allowed"),
    N_("Conflict"),
    N_("Gone"),
    N_("Request body too large"),
    N_("Too many requests"),
    N_("The audit ledger does not verify"),
    N_("A workspace file does not open"),
    N_("The workspace's key was destroyed"),
)

SIGN_IN_MESSAGES = (
    N_("The e-mail address or the password is wrong."),
    N_("Too many failed sign-ins for this account. Wait a few minutes and try again."),
)

JOB_STATUSES = (
    N_("queued"),
    N_("running"),
    N_("succeeded"),
    N_("failed"),
)

QUALITY_LABELS = (
    # The MQA's dimensions and rating bands (catalogue.mqa) and the kinds of data product.
    N_("Findability"),
    N_("Accessibility"),
    N_("Interoperability"),
    N_("Reusability"),
    N_("Contextuality"),
    N_("Excellent"),
    N_("Good"),
    N_("Sufficient"),
    N_("Bad"),
    N_("publication"),
    N_("result"),
    N_("code"),
    N_("other"),
)

PROHIBITED_USES = (
    # What an applicant declares they will not do (permits.completeness.PROHIBITED_USE_TEXT,
    # EHDS Art. 54); the wizard shows each inside "I will not %(what)s.".
    N_("take decisions detrimental to a person or group based on the data"),
    N_(
        "take decisions on jobs, insurance, credit or other terms that discriminate"
        " based on the data"
    ),
    N_("use the data for advertising or marketing"),
    N_("develop products or services that may harm people, public health or society"),
    N_(
        "carry out activities that conflict with the ethical provisions of national law"
    ),
    N_("try to re-identify anyone in the data"),
    N_("give access to the data to anyone not named in the permit"),
)

RUNTIME_MESSAGES = (
    NAVIGATION_LABELS
    + PROBLEM_TITLES
    + SIGN_IN_MESSAGES
    + JOB_STATUSES
    + QUALITY_LABELS
    + PROHIBITED_USES
)
