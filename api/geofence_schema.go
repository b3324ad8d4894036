package api

import "reflect"

// jsonSchema describes a geofence as one of its shapes. Clients read back
// the four stored shapes; they may also send a GeoJSON Feature or
// FeatureCollection, as geojson.io and QGIS export them.
func (geofenceJSON) jsonSchema(g *schemas, m mode) map[string]any {
	comp := func(name string, s map[string]any) map[string]any {
		if old, ok := g.comps[name]; ok && m == inMode && !reflect.DeepEqual(old, s) {
			name += "Input"
		}
		g.comps[name] = s
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	position := map[string]any{"type": "array", "items": map[string]any{"type": "number"}, "minItems": 2, "maxItems": 3,
		"description": "[longitude, latitude], as GeoJSON orders them"}
	ring := map[string]any{"type": "array", "items": position, "description": "A closed ring: the last position repeats the first"}
	rings := map[string]any{"type": "array", "items": ring, "minItems": 1, "description": "The outer ring, then any holes"}
	polygon := comp("GeoJSONPolygon", map[string]any{
		"title": "a GeoJSON Polygon", "type": "object", "required": []string{"type", "coordinates"},
		"properties": map[string]any{
			"type":        map[string]any{"type": "string", "const": "Polygon"},
			"coordinates": rings,
		},
	})
	multi := comp("GeoJSONMultiPolygon", map[string]any{
		"title": "a GeoJSON MultiPolygon", "type": "object", "required": []string{"type", "coordinates"},
		"properties": map[string]any{
			"type":        map[string]any{"type": "string", "const": "MultiPolygon"},
			"coordinates": map[string]any{"type": "array", "items": rings, "minItems": 1},
		},
	})
	circles := comp("CirclesZone", map[string]any{
		"title": "circles", "type": "object", "required": []string{"circles"},
		"properties": map[string]any{
			"circles": map[string]any{"type": "array", "items": g.of(reflect.TypeFor[circleJSON](), m), "minItems": 1},
		},
	})
	shops := comp("ShopsZone", map[string]any{
		"title": "shops", "type": "object", "required": []string{"shops"},
		"properties": map[string]any{"shops": g.of(reflect.TypeFor[shopsJSON](), m)},
	})
	alts := []any{polygon, multi, circles, shops}
	shapes := "a GeoJSON Polygon or MultiPolygon, {circles: [...]} or {shops: {shopIds, radiusM}}"
	if m == inMode {
		geometry := map[string]any{"oneOf": []any{polygon, multi}}
		feature := comp("GeoJSONFeature", map[string]any{
			"title": "a GeoJSON Feature", "type": "object", "required": []string{"type", "geometry"},
			"properties": map[string]any{
				"type":       map[string]any{"type": "string", "const": "Feature"},
				"geometry":   geometry,
				"properties": map[string]any{"type": []any{"object", "null"}, "additionalProperties": map[string]any{}, "description": "Ignored"},
			},
		})
		collection := comp("GeoJSONFeatureCollection", map[string]any{
			"title": "a GeoJSON FeatureCollection", "type": "object", "required": []string{"type", "features"},
			"properties": map[string]any{
				"type":     map[string]any{"type": "string", "const": "FeatureCollection"},
				"features": map[string]any{"type": "array", "items": feature, "minItems": 1},
			},
		})
		alts = append(alts, feature, collection)
		shapes = "a GeoJSON Polygon, MultiPolygon, Feature or FeatureCollection of polygons, {circles: [...]} or {shops: {shopIds, radiusM}}"
	}
	return map[string]any{"oneOf": alts, "x-shapes": shapes,
		"description": "The campaign's zone: " + shapes + ". Positions are [longitude, latitude]."}
}
