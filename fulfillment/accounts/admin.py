from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from .models import LocationMembership, SellerAccount


class SellerAccountForm(forms.ModelForm):
    """Secrets are write-only: blank keeps the stored value, nothing is ever rendered back."""

    lwa_client_secret = forms.CharField(
        label="LWA client secret", required=False, widget=forms.PasswordInput(render_value=False)
    )
    refresh_token = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False))
    token_url = forms.URLField(assume_scheme="https", initial="https://api.amazon.com/auth/o2/token")

    class Meta:
        model = SellerAccount
        fields = ["name", "endpoint", "token_url", "marketplace_ids", "lwa_client_id", "lwa_client_secret",
                  "refresh_token", "active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("lwa_client_secret", "refresh_token"):
            stored = getattr(self.instance, name, "")
            if stored:
                # Not even its last characters: a secret is never shown back (README).
                self.fields[name].help_text = "A value is stored. Leave blank to keep it, or type a new one."
            else:
                self.fields[name].required = True

    def clean(self):
        cleaned = super().clean()
        for name in ("lwa_client_secret", "refresh_token"):
            if not cleaned.get(name):
                cleaned[name] = getattr(self.instance, name, "")
        return cleaned


@admin.register(SellerAccount)
class SellerAccountAdmin(admin.ModelAdmin):
    form = SellerAccountForm
    list_display = ("name", "endpoint", "marketplace_ids", "lwa_client_id", "active")


class LocationMembershipInline(admin.TabularInline):
    model = LocationMembership
    extra = 1
    verbose_name = "location"
    verbose_name_plural = "Locations (where this user works and what they see; admins see everywhere)"


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class PackbenchUserAdmin(UserAdmin):
    inlines = [*UserAdmin.inlines, LocationMembershipInline]
