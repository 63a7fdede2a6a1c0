import CanalModel
import CanalSelector
import Testing

/// Shared helpers of the infrastructure-kind tests.
enum InfraFixtures {
    /// Decodes a resource of any kind from JSON text, strictly.
    static func decode(_ json: String, strict: Bool = true) throws -> any AnyResource {
        try decodeResource(JSONValue(parsing: json), rejectUnknownFields: strict)
    }

    /// Decodes a resource of a known kind from JSON text.
    static func decode<S: ResourceSpec>(_ json: String, as: S.Type) throws -> Resource<S> {
        try #require(try decode(json) as? Resource<S>)
    }

    /// The field paths of a resource's validation errors, as text.
    static func errorPaths(_ r: any AnyResource) -> [String] { r.validationErrors().map { $0.path.description } }

    /// The schema error paths of a document that does not decode.
    static func schemaErrorPaths(_ json: String) -> [String] {
        do {
            _ = try decode(json)
            return []
        } catch let e as ModelError {
            return e.fieldErrors.map { $0.path.description }
        } catch {
            return ["unexpected \(error)"]
        }
    }

    /// Encode → decode gives the same value.
    static func roundTrips<S: ResourceSpec>(_ r: Resource<S>) throws -> Bool {
        let again = try decodeResource(try r.jsonValue())
        return again.isEqual(to: r)
    }

    /// Whether CanalSelector rejects malformed selectors (it is a placeholder until the parser lands).
    static var selectorParserIsReal: Bool { (try? Selector("a ==")) == nil }

    /// A resource with the given metadata name and spec.
    static func make<S: ResourceSpec>(_ name: String, _ spec: S) -> Resource<S> {
        Resource(metadata: ObjectMeta(name: name), spec: spec)
    }
}
