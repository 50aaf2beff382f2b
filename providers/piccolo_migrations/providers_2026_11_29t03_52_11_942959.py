from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import UUID

ID = "2026-11-29T03:52:11:942959"
VERSION = "1.38.0"
DESCRIPTION = ""


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="providers", description=DESCRIPTION
    )

    manager.alter_column(
        table_class_name="Visit",
        tablename="visit",
        column_name="corrects",
        db_column_name="corrects",
        params={"index": True},
        old_params={"index": False},
        column_class=UUID,
        old_column_class=UUID,
        schema=None,
    )

    return manager
