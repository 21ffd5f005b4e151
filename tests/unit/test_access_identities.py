"""The allowed_signers file, key files and signed statements."""

from __future__ import annotations

from pathlib import Path

import pytest

from safeship.access.identities import normalise_name, parse_signers
from safeship.access.signatures import SigningKey, statement, verify
from safeship.errors import ConfigError, InputError, SignatureInvalid


def test_parses_git_allowed_signers_lines_with_options_and_principal_lists() -> None:
    one, two = SigningKey.generate(), SigningKey.generate()
    text = (
        "# comment\n\n"
        f'Alice,ALICE@example.com namespaces="git,safeship" {one.public.openssh()} laptop\n'
        f"bob {two.public.openssh()}\n"
    )
    signers = parse_signers(text, revoked_text=f"{two.public.openssh()} old\n")
    assert signers.keys_of("alice") == [one.public]
    assert signers.keys_of("alice@example.com") == [one.public]
    assert signers.is_revoked(two.public) and not signers.is_revoked(one.public)
    assert signers.owners_of(one.public) == {"alice", "alice@example.com"}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("alice", "expected 'PRINCIPALS"),
        ("alice ssh-rsa AAAAB3NzaC1yc2E", "not supported"),
        ("alice ssh-ed25519 %%%notbase64", "not valid base64"),
        ("alice ssh-ed25519 AAAAC3NzaC1lZDI1NTE5", "not a valid ssh-ed25519"),
        ("safeship-release ssh-ed25519 AAAA", "reserved"),
    ],
)
def test_malformed_lines_name_the_line(line: str, message: str) -> None:
    if line.startswith("safeship-"):
        line = f"safeship-release {SigningKey.generate().public.openssh()}"
    with pytest.raises(ConfigError, match=message) as error:
        parse_signers("# header\n" + line + "\n")
    assert ":2" in str(error.value)


def test_key_files_round_trip_in_openssh_format(tmp_path: Path) -> None:
    key = SigningKey.generate()
    key.save(tmp_path / "id", comment="alice@test")
    loaded = SigningKey.load(tmp_path / "id")
    assert loaded.public == key.public
    assert (tmp_path / "id").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "id.pub").read_text().startswith(key.public.openssh())
    (tmp_path / "bad").write_text("not a key")
    with pytest.raises(InputError, match="not an unencrypted OpenSSH private key"):
        SigningKey.load(tmp_path / "bad")
    with pytest.raises(InputError, match="no signing key"):
        SigningKey.load(tmp_path / "missing")


def test_a_statement_for_one_purpose_does_not_serve_another() -> None:
    key = SigningKey.generate()
    signers = parse_signers(f"alice {key.public.openssh()}\n")
    token = key.sign(statement("promote", "alice", model="m", version="1.0.0"))
    assert verify(token, signers, purpose="promote").signer == "alice"
    with pytest.raises(SignatureInvalid, match="not 'rollback'"):
        verify(token, signers, purpose="rollback")
    body, signature = token.split(".")[1:]
    tampered = f"ssv1.{body[:-2]}AA.{signature}"
    with pytest.raises(SignatureInvalid):
        verify(tampered, signers, purpose="promote")


def test_names_are_one_canonical_form() -> None:
    assert normalise_name(" Bob ") == "bob" == normalise_name("ＢＯＢ")  # fullwidth letters
    for bad in ("", "  ", "bo b", "a,b"):
        with pytest.raises(InputError):
            normalise_name(bad)
