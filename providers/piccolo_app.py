"""The providers Piccolo app: visits and their evidence; residents' care plans, daily records,
medication, incidents and shift handovers."""

import os

from piccolo.conf.apps import AppConfig

from providers.tables import (
    CareGoal,
    CareGoalReview,
    CareRecord,
    DoseRecord,
    Handover,
    Incident,
    MedicationOrder,
    Visit,
    VisitFlag,
    VisitPhoto,
    VisitService,
    WardRound,
)

APP_CONFIG = AppConfig(
    app_name="providers",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[
        Visit,
        VisitService,
        VisitPhoto,
        VisitFlag,
        CareGoal,
        CareGoalReview,
        WardRound,
        CareRecord,
        MedicationOrder,
        DoseRecord,
        Incident,
        Handover,
    ],
    migration_dependencies=["carepact.piccolo_app"],
    commands=[],
)
