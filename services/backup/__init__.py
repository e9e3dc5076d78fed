"""Backup and restore: a consistent snapshot of the database, the audit checkpoint file, and the
keyring encrypted (age) to an offline recovery key; restore into an empty database, then prove
the restore usable (the audit chain verifies, every data key unwraps, cases decrypt).

`haven backup` and `haven restore` (services/cli/backup.py) drive these functions.
"""

from services.backup.archive import BackupError, BackupResult, make_backup
from services.backup.restore import RestoreError, RestoreReport, check_restored, restore_backup

__all__ = [
    "BackupError",
    "BackupResult",
    "RestoreError",
    "RestoreReport",
    "check_restored",
    "make_backup",
    "restore_backup",
]
