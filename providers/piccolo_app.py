"""The providers Piccolo app: visits, their services, photos and trust flags."""

import os

from piccolo.conf.apps import AppConfig

from providers.tables import Visit, VisitFlag, VisitPhoto, VisitService

APP_CONFIG = AppConfig(
    app_name="providers",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[Visit, VisitService, VisitPhoto, VisitFlag],
    migration_dependencies=["carepact.piccolo_app"],
    commands=[],
)
