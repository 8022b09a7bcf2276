"""Creates one demo user per role for the embedded station (never run in production)."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from fulfillment.accounts import roles

# Written in README.md too: the embedded station is a local demo, not a deployment.
DEMO_USERS = (
    ("packer", "packbench-packer", roles.PACKER),
    ("supervisor", "packbench-supervisor", roles.SUPERVISOR),
    ("admin", "packbench-admin", roles.ADMIN),
)


class Command(BaseCommand):
    help = "Create the demo packer, supervisor and admin users with their printed passwords."

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("Demo users are never created with PACKBENCH_ENV=production.")
        User = get_user_model()
        for username, password, role in DEMO_USERS:
            user, created = User.objects.get_or_create(username=username)
            user.set_password(password)
            user.is_staff = role == roles.ADMIN
            user.is_superuser = role == roles.ADMIN
            user.save()
            user.groups.set([Group.objects.get(name=role)])
            self.stdout.write(f"  {role[:-1].lower():<10} user {username!r:<13} password {password!r}")
