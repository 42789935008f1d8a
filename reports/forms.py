from django import forms

from .models import InboxReportSettings


class InboxReportSettingsForm(forms.ModelForm):
    expected_site_url = forms.URLField(
        required=False,
        assume_scheme="https",
        label="Expected site URL",
        help_text=InboxReportSettings._meta.get_field("expected_site_url").help_text,
    )

    class Meta:
        model = InboxReportSettings
        fields = ["expected_site_url", "link_check", "link_check_hosts", "link_check_private"]
        labels = {
            "expected_site_url": "Expected site URL",
            "link_check": "Check links (opt-in)",
            "link_check_hosts": "Link check allow-list",
            "link_check_private": "Allow private addresses",
        }
        widgets = {
            "link_check_hosts": forms.Textarea(
                attrs={"rows": 4, "placeholder": "app.example.org\n*.staging.example.org"}
            )
        }

    def clean_link_check_hosts(self):
        hosts = [line.strip().lower() for line in self.cleaned_data["link_check_hosts"].splitlines() if line.strip()]
        for host in hosts:
            name = host[2:] if host.startswith("*.") else host
            if not name or any(c in name for c in "/:@ *") or len(name) > 253:
                raise forms.ValidationError(f"{host!r} is not a host name (write app.example.org or *.example.org).")
        return "\n".join(hosts)
