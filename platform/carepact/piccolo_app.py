"""The kernel's Piccolo app: registry, accounts and access, audit log, cards, jobs, photos, notifications."""

import os

from piccolo.conf.apps import AppConfig

from carepact.accounts.tables import Account, ApiToken, Assignment, Session
from carepact.audit.tables import AuditAnchor, AuditEvent
from carepact.cards.tables import Card
from carepact.jobs.tables import Job
from carepact.media.tables import Photo
from carepact.notifications.tables import Notification, NotificationRead
from carepact.registry.tables import Household, Organisation, Person, Region, Resident

APP_CONFIG = AppConfig(
    app_name="carepact",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[
        Region,
        Organisation,
        Household,
        Person,
        Resident,
        Account,
        Session,
        ApiToken,
        Assignment,
        AuditEvent,
        AuditAnchor,
        Card,
        Job,
        Photo,
        Notification,
        NotificationRead,
    ],
    migration_dependencies=["piccolo.apps.user.piccolo_app"],
    commands=[],
)
