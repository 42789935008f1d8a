"""Generated SMTP passwords work on a command line."""

from inboxes.models import generate_smtp_password


def test_generated_passwords_never_start_with_a_dash():
    # About 1 in 64 did: 5,000 draws would show it with certainty (1 - (63/64)^5000).
    passwords = [generate_smtp_password() for _ in range(5000)]
    assert not [password for password in passwords if password.startswith("-")]
    assert len(set(passwords)) == len(passwords)
    assert {len(password) for password in passwords} == {24}
