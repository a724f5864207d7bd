"""Geo-queries (clause 4.10): georel, geometry and coordinates against a GeoProperty.

Relations other than ``near`` are evaluated on WGS84 longitude/latitude as planar coordinates
(as most brokers do for small areas); ``near`` measures great-circle distance in metres.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import orjson
from shapely import geometry as shapes
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points

from twin_server.core import geojson
from twin_server.core.types import Entity
from twin_server.errors import BadRequestData

_RELATIONS = frozenset(
    {"near", "within", "contains", "intersects", "overlaps", "disjoint", "equals"}
)
_EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True, slots=True)
class GeoQuery:
    relation: str
    shape: Any
    """The shapely geometry of the reference (typed Any: shapely ships no stubs)."""
    geoproperty: str
    max_distance: float | None = None
    min_distance: float | None = None

    def matches(self, entity: Entity) -> bool:
        for inst in entity["attrs"].get(self.geoproperty, ()):
            if inst.get("type") == "GeoProperty" and self._test(shapes.shape(inst["value"])):
                return True
        return False

    def _test(self, target: BaseGeometry) -> bool:
        if self.relation == "near":
            distance = _distance_m(self.shape, target)
            if self.max_distance is not None and distance > self.max_distance:
                return False
            return not (self.min_distance is not None and distance < self.min_distance)
        if self.relation == "within":
            return bool(target.within(self.shape))
        if self.relation == "contains":
            return bool(target.contains(self.shape))
        if self.relation == "overlaps":
            return bool(target.overlaps(self.shape))
        if self.relation == "disjoint":
            return bool(target.disjoint(self.shape))
        if self.relation == "equals":
            return bool(target.equals(self.shape))
        return bool(target.intersects(self.shape))


def parse_geoquery(
    *, georel: str | None, geometry: str | None, coordinates: str | None, geoproperty: str
) -> GeoQuery:
    if georel is None or geometry is None or coordinates is None:
        raise BadRequestData("a geo-query needs georel, geometry and coordinates together")
    relation, *modifiers = georel.split(";")
    if relation not in _RELATIONS:
        raise BadRequestData(f"georel {relation!r} is not one of {sorted(_RELATIONS)}")
    limits = _distances(relation, modifiers)
    try:
        coords = orjson.loads(coordinates)
        geojson.validate_geometry({"type": geometry, "coordinates": coords})
    except (orjson.JSONDecodeError, ValueError) as exc:
        raise BadRequestData(f"geo-query geometry {geometry} / coordinates: {exc}") from exc
    if geometry == "GeometryCollection":
        raise BadRequestData("geometry GeometryCollection is not accepted in a geo-query")
    shape = shapes.shape({"type": geometry, "coordinates": coords})
    return GeoQuery(relation, shape, geoproperty, *limits)


def _distances(relation: str, modifiers: list[str]) -> tuple[float | None, float | None]:
    if relation != "near":
        if modifiers:
            raise BadRequestData(f"georel {relation} takes no modifiers")
        return None, None
    found: dict[str, float] = {}
    for modifier in modifiers:
        key, _, number = modifier.partition("==")
        if key not in ("maxDistance", "minDistance"):
            raise BadRequestData(f"georel near: {modifier!r} is not maxDistance== or minDistance==")
        try:
            found[key] = float(number)
        except ValueError as exc:
            raise BadRequestData(f"georel near: {number!r} is not a distance in metres") from exc
        if found[key] < 0:
            raise BadRequestData("georel near: distances cannot be negative")
    if not found:
        raise BadRequestData("georel near needs maxDistance==<m> or minDistance==<m>")
    return found.get("maxDistance"), found.get("minDistance")


def _distance_m(a: BaseGeometry, b: BaseGeometry) -> float:
    if a.intersects(b):
        return 0.0
    p, q = nearest_points(a, b)
    return _haversine(p.x, p.y, q.x, q.y)


def _haversine(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))
