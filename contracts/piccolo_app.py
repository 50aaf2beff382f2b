"""The contracts Piccolo app: contracts, amendments, coverage, documents and settlement."""

import os

from piccolo.conf.apps import AppConfig

from contracts.tables import (
    Amendment,
    Contract,
    ContractDocument,
    Coverage,
    Deduction,
    Statement,
    StatementLine,
)

APP_CONFIG = AppConfig(
    app_name="contracts",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[Contract, Amendment, Coverage, ContractDocument, Statement, StatementLine, Deduction],
    migration_dependencies=["carepact.piccolo_app"],
    commands=[],
)
