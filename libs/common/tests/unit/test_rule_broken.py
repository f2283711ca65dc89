from sangsaeng_common.errors import Forbidden, RuleBroken
from sangsaeng_common.http import problem_of


def test_a_broken_rule_is_a_403_naming_the_rule_in_its_member_title_and_detail():
    error = RuleBroken("segregation_of_duties", "L-3001 submitted this application and may not decide it")
    assert isinstance(error, Forbidden)
    problem = problem_of(error)
    assert (problem.status, problem.title, problem.extensions) == (403, "Refused by rule segregation_of_duties", {"rule": "segregation_of_duties"})
    assert problem.detail == "segregation_of_duties: L-3001 submitted this application and may not decide it"
