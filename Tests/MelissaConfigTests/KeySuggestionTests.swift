import XCTest
@testable import MelissaConfig

final class KeySuggestionTests: XCTestCase {
    func testDistance() {
        XCTAssertEqual(KeySuggestion.distance("kitten", "sitting", limit: 5), 3)
        XCTAssertEqual(KeySuggestion.distance("", "abc", limit: 5), 3)
        XCTAssertEqual(KeySuggestion.distance("same", "same", limit: 0), 0)
        XCTAssertNil(KeySuggestion.distance("kitten", "sitting", limit: 2))
        XCTAssertNil(KeySuggestion.distance("a", String(repeating: "a", count: 1000), limit: 3))
    }

    func testNearest() {
        let keys = ConfigSchema.launcherConfig
        XCTAssertEqual(KeySuggestion.nearest(to: "job_limt", among: keys), "job_limit")
        XCTAssertEqual(KeySuggestion.nearest(to: "Job-Limit", among: keys), "job_limit")
        XCTAssertEqual(KeySuggestion.nearest(to: "schedular", among: keys), "scheduler")
        XCTAssertEqual(KeySuggestion.nearest(to: "verbose", among: keys), "verbosity")
        XCTAssertNil(KeySuggestion.nearest(to: "x", among: keys))
        XCTAssertNil(KeySuggestion.nearest(to: "completely_unrelated", among: keys))
        XCTAssertEqual(KeySuggestion.nearest(to: "l_bound", among: ConfigSchema.studyOptions), "l_bounds")
        XCTAssertEqual(KeySuggestion.nearest(to: "men", among: ConfigSchema.saConfig), "mean")
    }
}
