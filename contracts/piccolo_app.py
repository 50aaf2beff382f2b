"""The contracts Piccolo app: contracts, amendments, coverage, documents, settlement, the agreement."""

import os

from piccolo.conf.apps import AppConfig

from contracts.oversight.tables import OversightFigure, OversightMonth
from contracts.tables import (
    Agreement,
    AgreementTemplate,
    Amendment,
    AuditSample,
    Contract,
    ContractDocument,
    Coverage,
    Deduction,
    Finding,
    SampledVisit,
    SickEpisode,
    Statement,
    StatementLine,
)

APP_CONFIG = AppConfig(
    app_name="contracts",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[
        Contract,
        Amendment,
        Coverage,
        ContractDocument,
        Statement,
        StatementLine,
        Deduction,
        AgreementTemplate,
        Agreement,
        SickEpisode,
        Finding,
        AuditSample,
        SampledVisit,
        OversightMonth,
        OversightFigure,
    ],
    migration_dependencies=["carepact.piccolo_app"],
    commands=[],
)
