from sangsaeng_common.http import Authenticator


def test_tokens_map_to_roles_and_agencies():
    auth = Authenticator({"s": "staff", "a": "agency:SEMAS"})
    assert auth.principal("s").role == "staff"
    agency = auth.principal("a")
    assert (agency.role, agency.agency, agency.name) == ("agency", "SEMAS", "agency:SEMAS")
    assert auth.principal("nope") is None
    assert Authenticator({}).principal("") is None
