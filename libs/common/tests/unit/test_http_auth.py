from sangsaeng_common.http import Authenticator


def test_tokens_map_to_roles_and_agencies():
    auth = Authenticator({"s": "staff", "a": "agency:SEMAS"})
    assert auth.principal("s").role == "staff"
    agency = auth.principal("a")
    assert (agency.role, agency.agency, agency.name) == ("agency", "SEMAS", "agency:SEMAS")
    assert auth.principal("nope") is None
    assert Authenticator({}).principal("") is None


def test_a_person_token_names_its_subject_planner_and_agency():
    auth = Authenticator({
        "p": {"role": "planner", "subject": "P-2001", "planner_id": "planner-01"},
        "g": {"role": "agency", "subject": "G-SEMAS", "agency": "SEMAS"},
    })
    planner = auth.principal("p")
    assert (planner.role, planner.subject, planner.planner_id, planner.name) == ("planner", "P-2001", "planner-01", "P-2001")
    agency = auth.principal("g")
    assert (agency.role, agency.agency, agency.name) == ("agency", "SEMAS", "G-SEMAS")
