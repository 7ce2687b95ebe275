"""Bulk services: admit and update many members (create and update many enterprises, record many
returns) in one transaction, with a constant number of queries however many rows.

They enforce the rules of the single-record services (``branches.services.admit_member`` /
``update_member``, ``enterprises.services.create_enterprise`` / ``update_enterprise`` /
``record_membership_return``) by calling the same check functions, with the facts those checks
would query (who holds a citizen ID, which enterprises the user sees, ...) preloaded for the whole
batch. Every write is recorded in the history with the acting user, one date and one change
reason, so an import shows as one change set.

Each function takes a list of *items* (one per input row) and fills in, per item, its
``action`` (create, update, unchanged or error), its ``errors`` (field → messages) and its
``changes`` (field → (before, after)); it writes only when no item has an error.
"""

from dataio.bulk.common import (  # noqa: F401
    ACTIONS,
    ADMISSION_EXCLUDE,
    BATCH_SIZE,
    CONTROL_CHARACTERS_MESSAGE,
    CREATE,
    ERROR,
    LOOKUP_CHUNK,
    MEMBER_FK_FIELDS,
    MEMBER_LIFECYCLE_FIELDS,
    UNCHANGED,
    UPDATE,
    FieldCleaner,
    InstanceBuilder,
    Item,
    chunks,
    collector_paused,
    counts,
    filter_in,
    finish,
    has_errors,
    ids_in,
    pks_of,
    postgres,
    report_duplicates,
)
from dataio.bulk.enterprises import import_enterprises, plan_enterprises, write_enterprises  # noqa: F401
from dataio.bulk.members import import_members, plan_members, same_value, write_members  # noqa: F401
from dataio.bulk.returns import import_returns, plan_returns  # noqa: F401
from dataio.bulk.writers import (  # noqa: F401
    HISTORY_FIELDS,
    NewRow,
    attnames,
    connection_for,
    copy_with_history,
    copy_writer,
    history_fields_of,
    insert_with_history,
    reserve_ids,
    update_with_history,
)
