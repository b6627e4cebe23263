"""Users and their roles: who may see which page.

Users live in ``config/users.yaml`` with bcrypt hashes and one role each. ``tokens.py`` signs the
expiring session cookies and keeps the revocation list, ``throttle.py`` counts failed sign-ins per
user name and address; the Streamlit side of signing in is ``nxforge/app/session.py``.
"""

from nxforge.auth.passwords import PasswordError, hash_password, verify_password
from nxforge.auth.users import USERS_FILE, User, UserError, UserRecord, UsersDocument, UserStore
from nxforge.roles import ROLES, Role, can_see, parse_role

__all__ = [
    "ROLES",
    "USERS_FILE",
    "PasswordError",
    "Role",
    "User",
    "UserError",
    "UserRecord",
    "UserStore",
    "UsersDocument",
    "can_see",
    "hash_password",
    "parse_role",
    "verify_password",
]
