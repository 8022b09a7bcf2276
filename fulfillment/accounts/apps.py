from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "fulfillment.accounts"

    def ready(self):
        from django.contrib.auth import get_user_model
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from .access import new_generation

        # What accounts.access keeps: roles (groups), memberships, the floor's stations. A change to any
        # of them through the ORM makes every request read them afresh.
        m2m_changed.connect(new_generation, sender=get_user_model().groups.through,
                            dispatch_uid="access-groups")
        for model in ("auth.Group", "accounts.LocationMembership", "stations.Station"):
            post_save.connect(new_generation, sender=model, dispatch_uid=f"access-save-{model}")
            post_delete.connect(new_generation, sender=model, dispatch_uid=f"access-delete-{model}")
