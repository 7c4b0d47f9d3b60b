"""The audit chain reports every kind of tampering that someone with write access to
the database (but not to the data directory) can do, with the first bad number."""

from __future__ import annotations

from sqlalchemy import update

from factorflow.audit.models import AuditEntry
from factorflow.audit.verify import Tamper
from factorflow.bootstrap import Services
from tests.audit.chain_helpers import (
    delete_all,
    delete_ids,
    head_row,
    ids,
    roll_back,
    set_head,
    swap_contents,
    verify,
    write,
)


def test_an_untouched_chain_verifies(services: Services) -> None:
    written = write(services, 6)
    report = verify(services)
    assert report.ok and report.exit_code == 0
    assert report.checked == 6 and report.head == written[-1] and report.anchors == 1
    assert written == list(range(written[0], written[0] + 6))


def test_an_edited_entry_is_reported_as_altered(services: Services) -> None:
    written = write(services, 5)
    with services.sessions.begin() as session:
        session.execute(
            update(AuditEntry).where(AuditEntry.id == written[2]).values(info="nothing happened")
        )
    report = verify(services)
    assert set(report.findings) == {Tamper.ALTERED}
    assert report.ids(Tamper.ALTERED) == [written[2]]
    assert report.first_bad == written[2] and report.exit_code == 3


def test_deleting_the_first_entry_is_reported(services: Services) -> None:
    written = write(services, 4)
    delete_ids(services, written[0])
    report = verify(services)
    assert set(report.findings) == {Tamper.DELETED}
    assert report.ids(Tamper.DELETED) == [written[0]]
    assert report.first_bad == written[0] and report.exit_code == 4


def test_deleting_middle_entries_is_reported(services: Services) -> None:
    written = write(services, 6)
    delete_ids(services, written[2], written[3])
    report = verify(services)
    assert set(report.findings) == {Tamper.DELETED}
    assert report.ids(Tamper.DELETED) == [written[2], written[3]]
    assert report.unlinked == 1 and report.exit_code == 4


def test_deleting_the_newest_entries_is_reported(services: Services) -> None:
    written = write(services, 5)
    delete_ids(services, written[3], written[4])
    report = verify(services)
    assert Tamper.TRUNCATED in report.findings
    assert report.ids(Tamper.TRUNCATED) == [written[3], written[4]]
    assert report.first_bad == written[3] and report.exit_code == 5


def test_deleting_every_entry_is_reported(services: Services) -> None:
    written = write(services, 3)
    delete_all(services)
    report = verify(services)
    assert report.checked == 0
    assert report.ids(Tamper.TRUNCATED) == written
    assert report.first_bad == written[0] and report.exit_code == 5


def test_swapping_two_entries_contents_is_reported(services: Services) -> None:
    written = write(services, 6)
    swap_contents(services, written[1], written[4])
    report = verify(services)
    assert set(report.findings) == {Tamper.ALTERED}
    assert {written[1], written[4]} <= set(report.ids(Tamper.ALTERED))
    assert report.first_bad == written[1] and report.exit_code == 3


def test_truncating_with_an_older_signed_head_is_caught_by_the_anchor(services: Services) -> None:
    """The database alone is consistent again (an old, validly signed head and the
    entries up to it); the anchor in the data directory still says how far it went."""
    written = roll_back(services, kept=4, lost=4)
    report = verify(services)
    assert report.ids(Tamper.TRUNCATED) == written
    assert Tamper.ROLLED_BACK in report.findings
    assert report.first_bad == written[0] and report.exit_code == 6


def test_the_anchor_keeps_the_evidence_while_writing_goes_on(services: Services) -> None:
    """After a rollback the server keeps auditing; its new entries reuse the numbers
    of the deleted ones, but the anchor does not move onto the rewritten chain."""
    written = roll_back(services, kept=3, lost=3)
    rewritten = write(services, 5, label="after")
    assert rewritten[0] == written[0]
    report = verify(services)
    assert set(report.findings) == {Tamper.ROLLED_BACK}
    assert report.first_bad == written[-1] and report.exit_code == 6
    assert ids(services)[-1] == rewritten[-1]


def test_rolling_back_only_the_head_is_reported(services: Services) -> None:
    write(services, 3)
    old_head = head_row(services)
    written = write(services, 2)
    set_head(services, old_head)
    report = verify(services)
    assert report.ids(Tamper.ROLLED_BACK)[0] == written[0]
    assert report.exit_code == 6


def test_a_forged_head_is_reported(services: Services) -> None:
    written = write(services, 4)
    delete_ids(services, written[-1])
    forged = head_row(services) | {"seq": written[-2]}
    set_head(services, forged)
    report = verify(services)
    assert Tamper.ROLLED_BACK in report.findings and report.exit_code == 6


def test_without_an_anchor_the_report_says_so(services: Services) -> None:
    write(services, 2)
    services.audit.anchor_path.unlink()
    report = verify(services)
    assert set(report.findings) == {Tamper.UNANCHORED} and report.exit_code == 7


def test_reanchor_trusts_the_current_head(services: Services) -> None:
    written = roll_back(services, kept=2, lost=2)
    assert verify(services).exit_code == 6
    point = services.audit.reanchor()
    assert point is not None and point.seq == written[0] - 1
    assert verify(services).ok
    assert write(services, 1) == [written[0]]
    assert verify(services).ok


def test_a_request_and_its_action_entries_are_one_chain_step(services: Services) -> None:
    from tests.audit.chain_helpers import record

    first = services.audit.write(record("with-actions", children=3))
    assert ids(services) == [first, first + 1, first + 2, first + 3]
    assert verify(services).ok
