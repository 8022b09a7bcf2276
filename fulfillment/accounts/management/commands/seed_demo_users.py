"""Creates one demo user per role for the embedded station (never run in production)."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from fulfillment.accounts import roles

from ...models import LocationMembership

LOCATION_1, LOCATION_2 = "SANDBOX-LOC-1", "SANDBOX-LOC-2"  # seed_station's Station 1 and Station 2
# Written in README.md too: the embedded station is a local demo, not a deployment. Each user belongs
# to its locations (accounts.locations); the admin sees everywhere.
DEMO_USERS = (
    ("packer", "packbench-packer", roles.PACKER, (LOCATION_1,)),
    ("packer2", "packbench-packer2", roles.PACKER, (LOCATION_2,)),
    ("supervisor", "packbench-supervisor", roles.SUPERVISOR, (LOCATION_1, LOCATION_2)),
    ("admin", "packbench-admin", roles.ADMIN, ()),
)


class Command(BaseCommand):
    help = "Create the demo packer, supervisor and admin users with their printed passwords."

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("Demo users are never created with PACKBENCH_ENV=production.")
        User = get_user_model()
        for username, password, role, locations in DEMO_USERS:
            user, created = User.objects.get_or_create(username=username)
            user.set_password(password)
            user.is_staff = role == roles.ADMIN
            user.is_superuser = role == roles.ADMIN
            user.save()
            user.groups.set([Group.objects.get(name=role)])
            user.location_memberships.exclude(location_id__in=locations).delete()
            for location_id in locations:
                LocationMembership.objects.get_or_create(user=user, location_id=location_id)
            where = ", ".join(locations) or "every location"
            self.stdout.write(f"  {role[:-1].lower():<10} user {username!r:<13} password {password!r:<24} at {where}")
