"""Districts' pure rules: areas of polygons whose areas are known, point in polygon, the
designation rules as dated data, the lifecycle and the contests' entry rules."""

from datetime import date
from uuid import UUID

import pytest
from pyproj import Geod
from shapely import Polygon

from districts.domain import contest as c
from districts.domain import district as d
from districts.domain import geometry, rules

GEOD = Geod(ellps="WGS84")
ORIGIN = (127.0400, 37.5800)  # 제기동, near 경동시장


def walk(start: tuple[float, float], legs: list[tuple[float, float]]) -> list[list[float]]:
    """A closed ring from `start` by legs of (azimuth in degrees, metres) on the ellipsoid."""
    points = [list(start)]
    lon, lat = start
    for azimuth, metres in legs:
        lon, lat, _ = GEOD.fwd(lon, lat, azimuth, metres)
        points.append([lon, lat])
    points[-1] = list(start)  # close exactly
    return points


def polygon(ring: list[list[float]], *holes: list[list[float]]) -> dict:
    return {"type": "Polygon", "coordinates": [ring, *holes]}


def rectangle(start: tuple[float, float], east_m: float, north_m: float) -> list[list[float]]:
    return walk(start, [(90, east_m), (0, north_m), (270, east_m), (180, north_m)])


def test_a_50_by_40_metre_block_is_2000_square_metres():
    boundary = geometry.parse(polygon(rectangle(ORIGIN, 50, 40)))
    assert boundary.area_m2 == pytest.approx(2000, rel=1e-4)


def test_the_equal_area_projection_agrees_with_the_geodesic_area():
    ring = walk(ORIGIN, [(90, 180), (20, 120), (300, 90), (200, 60), (250, 70)])
    boundary = geometry.parse(polygon(ring))
    geodesic, _ = GEOD.geometry_area_perimeter(boundary.polygon)  # the same (1 cm rounded) polygon, on the ellipsoid
    assert abs(geodesic) == pytest.approx(abs(GEOD.geometry_area_perimeter(Polygon(ring))[0]), rel=1e-4)
    assert boundary.area_m2 == pytest.approx(abs(geodesic), rel=1e-5)
    assert boundary.area_m2 > 10_000  # not a degenerate shape


def test_an_l_shape_of_three_squares_and_a_hole():
    # An L of three 30 m squares (2,700 m²) ...
    l_shape = walk(ORIGIN, [(90, 60), (0, 30), (270, 30), (0, 30), (270, 30), (180, 60)])
    assert geometry.parse(polygon(l_shape)).area_m2 == pytest.approx(2700, rel=1e-4)
    # ... and a 100 x 100 m block with a 20 x 10 m courtyard cut out: 9,800 m².
    outer = rectangle(ORIGIN, 100, 100)
    inner_start = GEOD.fwd(*GEOD.fwd(*ORIGIN, 90, 40)[:2], 0, 40)[:2]
    hole = rectangle(inner_start, 20, 10)[::-1]
    assert geometry.parse(polygon(outer, hole)).area_m2 == pytest.approx(9800, rel=1e-4)


def test_a_point_inside_on_the_edge_and_outside():
    boundary = geometry.parse(polygon(rectangle(ORIGIN, 100, 100)))
    middle = GEOD.fwd(*GEOD.fwd(*ORIGIN, 90, 50)[:2], 0, 50)[:2]
    outside = GEOD.fwd(*ORIGIN, 270, 5)[:2]
    assert boundary.contains(*middle)
    assert boundary.contains(*ORIGIN)  # a corner is on the boundary: it counts
    assert not boundary.contains(*outside)
    # In the courtyard of a block with a hole: not inside.
    hole_start = GEOD.fwd(*GEOD.fwd(*ORIGIN, 90, 40)[:2], 0, 40)[:2]
    with_hole = geometry.parse(polygon(rectangle(ORIGIN, 100, 100), rectangle(hole_start, 20, 20)[::-1]))
    assert not with_hole.contains(*GEOD.fwd(*GEOD.fwd(*hole_start, 90, 10)[:2], 0, 10)[:2])


@pytest.mark.parametrize(("geojson", "says"), [
    ({"type": "Point", "coordinates": [127.04, 37.58]}, "GeoJSON Polygon"),
    ({"type": "Polygon", "coordinates": []}, "empty"),
    ({"type": "Polygon", "coordinates": [[[127.04, 37.58], [127.05, 37.59], [127.05, 37.58], [127.04, 37.59], [127.04, 37.58]]]}, "not valid"),
    ({"type": "Polygon", "coordinates": [[[37.58, 127.04], [37.59, 127.04], [37.59, 127.05], [37.58, 127.04]]]}, "latitude"),
    (polygon(rectangle(ORIGIN, 3000, 3000)), "more than a shopping district"),
    ("not a polygon", "GeoJSON Polygon"),
])
def test_a_bad_boundary_is_refused_saying_why(geojson, says):
    with pytest.raises(geometry.BadBoundary) as refused:
        geometry.parse(geojson)
    assert says in str(refused.value)


def test_a_feature_holding_a_polygon_is_accepted_and_round_trips():
    ring = rectangle(ORIGIN, 50, 40)
    boundary = geometry.parse({"type": "Feature", "properties": {}, "geometry": polygon(ring)})
    again = geometry.parse(boundary.geojson())
    assert again.area_m2 == pytest.approx(boundary.area_m2)
    assert boundary.geojson()["type"] == "Polygon"


def test_required_stores_per_rule_and_area():
    ordinance = rules.rule_in_force(rules.DEFAULT_RULES, rules.DONGDAEMUN, date(2025, 8, 1))
    national = rules.rule_in_force(rules.DEFAULT_RULES, rules.NATIONAL, date(2025, 8, 1))
    assert (ordinance.stores, national.stores) == (15, 30)
    assert ordinance.required(2000) == 15 and national.required(2000) == 30
    assert ordinance.required(1200) == 15  # smaller than 2,000 m²: still the full count
    assert ordinance.required(3000) == 23  # 22.5, rounded up
    assert ordinance.required(4000) == 30
    assert rules.check(ordinance, 2000, 15).met and not rules.check(ordinance, 2000, 14).met
    failure = rules.check(ordinance, 3000, 20).failure()
    assert failure is not None and failure.rule == "dongdaemun_ordinance" and "needs 23" in failure.message


def test_rules_are_dated_data():
    old = rules.DesignationRule(code="x", name="old", stores=20, per_area_m2=2000, effective_from=date(2020, 1, 1), effective_to=date(2024, 12, 31))
    new = rules.DesignationRule(code="x", name="new", stores=15, per_area_m2=2000, effective_from=date(2025, 1, 1))
    assert rules.rule_in_force([old, new], "x", date(2024, 6, 1)).name == "old"
    assert rules.rule_in_force([old, new], "x", date(2025, 6, 1)).name == "new"
    with pytest.raises(rules.NoRuleInForce):
        rules.rule_in_force([old, new], "x", date(2019, 6, 1))


def test_only_operating_stores_inside_the_boundary_count():
    a, b, c_, e = (UUID(int=i) for i in range(1, 5))
    members = [d.Member(a, True, "operating"), d.Member(b, False, "operating"), d.Member(c_, True, "closed"), d.Member(e, True, None)]
    assert d.counted(members) == [a]
    assert d.counted_area(2500, 600) == 1900 and d.counted_area(500, 600) == 0


def test_the_lifecycle():
    d.require("review", d.State.proposed)
    d.require("designate", d.State.under_review)
    d.require("revoke", d.State.designated)
    with pytest.raises(d.NotAllowed) as refused:
        d.require("designate", d.State.proposed)
    assert refused.value.allowed == ["under_review"] and "proposed district cannot designate" in str(refused.value)
    with pytest.raises(d.NotAllowed):
        d.require("revoke", d.State.revoked)
    with pytest.raises(d.NotAllowed):
        d.require("change_members", d.State.revoked)


def test_contest_entry_rules_are_named():
    kw = dict(eligibility=c.Eligibility.designated_only, deadline=date(2025, 9, 15), opens_on=date(2025, 8, 1))
    assert c.entry_refusals(**kw, district_state=d.State.designated, entered_on=date(2025, 9, 15)) == []
    late = c.entry_refusals(**kw, district_state=d.State.designated, entered_on=date(2025, 9, 16))
    assert [r.rule for r in late] == ["deadline"]
    both = c.entry_refusals(**kw, district_state=d.State.proposed, entered_on=date(2025, 9, 16))
    assert [r.rule for r in both] == ["deadline", "eligibility"]
    anyone = dict(kw, eligibility=c.Eligibility.any_district)
    assert c.entry_refusals(**anyone, district_state=d.State.proposed, entered_on=date(2025, 8, 2)) == []
    assert [r.rule for r in c.entry_refusals(**anyone, district_state=d.State.revoked, entered_on=date(2025, 8, 2))] == ["eligibility"]
    assert [r.rule for r in c.entry_refusals(**kw, district_state=d.State.designated, entered_on=date(2025, 7, 31))] == ["not_open"]


def test_results_stay_within_the_budget():
    assert c.result_refusals(selected=True, awarded_krw=100, budget_krw=300, awarded_so_far_krw=200) == []
    assert [r.rule for r in c.result_refusals(selected=True, awarded_krw=101, budget_krw=300, awarded_so_far_krw=200)] == ["budget"]
    assert [r.rule for r in c.result_refusals(selected=False, awarded_krw=5, budget_krw=300, awarded_so_far_krw=0)] == ["awarded_krw"]


def test_coordinates_are_kept_to_seven_decimals():
    ring = [[127.04056605256213, 37.58009009937461], [127.0410000000001, 37.58], [127.041, 37.5808], [127.04, 37.5808],
            [127.04056605256213, 37.58009009937461]]
    kept = geometry.parse(polygon(ring)).geojson()["coordinates"][0]
    assert kept[0] == [127.0405661, 37.5800901] and kept[1] == [127.041, 37.58]
    assert geometry.rounded(127.04056605256213) == 127.0405661
