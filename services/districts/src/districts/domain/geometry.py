"""A district's boundary: a GeoJSON Polygon in WGS84 (longitude, latitude), its area in
square metres on an equal-area projection, and whether a store's point lies inside.

shapely does the geometry, pyproj the projection: a Lambert azimuthal equal-area projection
centred on the polygon (on the WGS84 ellipsoid), where a plane area is the true area; at a
district's size (hundreds of metres) it agrees with the geodesic area to well under 0.01%."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyproj import CRS, Transformer
import shapely
from shapely import Point, Polygon
from shapely.geometry import mapping, shape
from shapely.validation import explain_validity

WGS84 = CRS.from_epsg(4326)
MAX_AREA_M2 = 5_000_000.0  # a shopping district is a few blocks; a larger shape is a mistake
# Coordinates are kept to 7 decimals (about 1 cm): finer digits say nothing, and a long run
# of digits in an event would look like a resident registration number to the PII guard.
DECIMALS = 7


def rounded(value: float) -> float:
    return round(float(value), DECIMALS)


def _rounded_coordinates(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_rounded_coordinates(v) for v in value]
    return rounded(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


class BadBoundary(ValueError):
    """The boundary is not a usable polygon; the message says why."""


@dataclass(frozen=True)
class Boundary:
    polygon: Polygon  # in WGS84 degrees (x = longitude, y = latitude)
    area_m2: float

    def contains(self, longitude: float, latitude: float) -> bool:
        """The point lies inside the boundary or on it."""
        return bool(self.polygon.covers(Point(longitude, latitude)))

    def geojson(self) -> dict[str, Any]:
        return _as_lists(mapping(self.polygon))


def _as_lists(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_as_lists(v) for v in value]
    if isinstance(value, dict):
        return {k: _as_lists(v) for k, v in value.items()}
    return value


def equal_area(polygon: Polygon) -> Transformer:
    """WGS84 → Lambert azimuthal equal-area centred on the polygon."""
    centre = polygon.centroid
    laea = CRS.from_proj4(f"+proj=laea +lat_0={centre.y} +lon_0={centre.x} +ellps=WGS84 +units=m +no_defs")
    return Transformer.from_crs(WGS84, laea, always_xy=True)


def area_m2(polygon: Polygon) -> float:
    transformer = equal_area(polygon)
    projected = shapely.transform(polygon, lambda x, y: transformer.transform(x, y), interleaved=False)
    return float(projected.area)


def parse(geojson: Any) -> Boundary:
    """A GeoJSON Polygon (a Feature holding one is accepted too) as a Boundary, or BadBoundary."""
    if isinstance(geojson, dict) and geojson.get("type") == "Feature":
        geojson = geojson.get("geometry")
    if not isinstance(geojson, dict) or geojson.get("type") != "Polygon":
        raise BadBoundary("must be a GeoJSON Polygon (type 'Polygon', coordinates [[[longitude, latitude], ...]])")
    try:
        polygon = shape({"type": "Polygon", "coordinates": _rounded_coordinates(geojson.get("coordinates"))})
    except (ValueError, TypeError, IndexError, AttributeError) as exc:
        raise BadBoundary(f"not a GeoJSON Polygon: {exc}") from None
    if polygon.is_empty:
        raise BadBoundary("the polygon is empty")
    min_x, min_y, max_x, max_y = polygon.bounds
    if not (-180 <= min_x <= max_x <= 180 and -90 <= min_y <= max_y <= 90):
        raise BadBoundary("coordinates must be WGS84 longitude (-180..180), latitude (-90..90)")
    if not polygon.is_valid:
        raise BadBoundary(f"the polygon is not valid: {explain_validity(polygon)}")
    area = area_m2(polygon)
    if area <= 0:
        raise BadBoundary("the polygon has no area")
    if area > MAX_AREA_M2:
        raise BadBoundary(f"the polygon covers {area:,.0f} m², more than a shopping district ({MAX_AREA_M2:,.0f} m²)")
    return Boundary(polygon, area)
