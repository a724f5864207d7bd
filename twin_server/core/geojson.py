"""GeoJSON geometries (RFC 7946) as NGSI-LD GeoProperty values: validation and shapes."""

from __future__ import annotations

from typing import Any

GEOMETRY_TYPES = frozenset(
    {
        "Point",
        "MultiPoint",
        "LineString",
        "MultiLineString",
        "Polygon",
        "MultiPolygon",
        "GeometryCollection",
    }
)
_DEPTH = {
    "Point": 0,
    "MultiPoint": 1,
    "LineString": 1,
    "MultiLineString": 2,
    "Polygon": 2,
    "MultiPolygon": 3,
}


def is_geometry_type(value: Any) -> bool:
    return isinstance(value, str) and value in GEOMETRY_TYPES


def looks_like_geometry(value: Any) -> bool:
    """True for a dict that claims to be a GeoJSON geometry (its type is a geometry type)."""
    return isinstance(value, dict) and is_geometry_type(value.get("type"))


def validate_geometry(value: Any) -> None:
    """Raise ValueError, saying what is wrong, unless ``value`` is a valid GeoJSON geometry."""
    if not isinstance(value, dict) or not is_geometry_type(value.get("type")):
        raise ValueError("value is not a GeoJSON geometry (Point, Polygon, …)")
    kind = value["type"]
    if kind == "GeometryCollection":
        members = value.get("geometries")
        if not isinstance(members, list):
            raise ValueError("GeometryCollection needs a geometries array")
        for member in members:
            validate_geometry(member)
        return
    coordinates: Any = value.get("coordinates")
    _check_coordinates(kind, coordinates, _DEPTH[kind])
    if kind in ("Polygon", "MultiPolygon"):
        polygons = [coordinates] if kind == "Polygon" else coordinates
        for polygon in polygons:
            for ring in polygon:
                if len(ring) < 4 or ring[0] != ring[-1]:
                    raise ValueError("a polygon ring needs 4 or more positions, first = last")
    if kind == "LineString" and len(coordinates) < 2:
        raise ValueError("a LineString needs two or more positions")


def _check_coordinates(kind: str, coordinates: Any, depth: int) -> None:
    if depth == 0:
        if not _is_position(coordinates):
            raise ValueError(f"{kind} coordinates must be [longitude, latitude(, altitude)]")
        return
    if not isinstance(coordinates, list) or not coordinates:
        raise ValueError(f"{kind} coordinates must be a non-empty array")
    for item in coordinates:
        _check_coordinates(kind, item, depth - 1)


def _is_position(value: Any) -> bool:
    if not isinstance(value, list) or not 2 <= len(value) <= 3:
        return False
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        return False
    return bool(-180 <= value[0] <= 180 and -90 <= value[1] <= 90)
